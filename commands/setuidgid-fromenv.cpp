// setuidgid-fromenv: become $UID, $GID and the groups of $GIDLIST, then chain.
#include "accounts.hpp"
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "identity.hpp"

#include <string>

namespace toolkit::applets {

namespace {

// One id: decimal digits, 0..4294967294; anything else names the variable.
gid_t read_id(std::string_view variable, std::string_view text) {
    auto id = read_account_id(text);
    if (!id)
        throw Failure(exit_failure, std::string(variable),
                      "not a uid or gid: \"" + std::string(text) + "\"");
    return static_cast<gid_t>(*id);
}

const char* required(const PendingEnvironment& environment, std::string_view variable) {
    const char* value = environment.get(variable);
    if (!value) throw Failure(exit_failure, std::string(variable), "not set");
    return value;
}

// The identity the variables describe; GIDLIST, when set, is the whole list of
// groups (empty: none), otherwise the list is GID alone.
Identity identity_from(const PendingEnvironment& environment) {
    Identity identity{read_id("UID", required(environment, "UID")),
                      read_id("GID", required(environment, "GID")),
                      {}};
    const char* list = environment.get("GIDLIST");
    if (!list) {
        identity.groups.push_back(identity.gid);
        return identity;
    }
    for (std::string_view rest = list; !rest.empty();) {
        std::size_t comma = rest.find(',');
        identity.groups.push_back(read_id("GIDLIST", rest.substr(0, comma)));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (comma != std::string_view::npos && rest.empty()) read_id("GIDLIST", rest);
    }
    return identity;
}

class AssumeIdentityFromEnvironment : public Step {
  public:
    // Read again: a link between planning and now (accept, envdir) may have changed them.
    void run(Chain& chain) override { assume_identity(identity_from(chain.environment)); }
};

// The variables as the links before this one will have left them: an envuidgid
// or envdir earlier in the chain has set them already while it was planned.
std::unique_ptr<Step> plan(Invocation& invocation) {
    identity_from(invocation.planned().environment);
    // PATH is searched again as the account: a directory only root can search is passed over.
    invocation.planned().look_again = true;
    return std::make_unique<AssumeIdentityFromEnvironment>();
}

} // namespace

extern const AppletInfo setuidgid_fromenv{
    {"setuidgid-fromenv",
     "NEXT-PROG [ARGS...]",
     "Run NEXT-PROG as uid $UID and gid $GID, with the groups of $GIDLIST (or $GID alone).",
     {},
     "setuidgid-env"},
    plan,
};

} // namespace toolkit::applets
