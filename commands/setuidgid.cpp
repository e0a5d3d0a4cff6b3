// setuidgid: become an account (groups, gid, uid, in that order), then chain.
#include "accounts.hpp"
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "identity.hpp"
#include "numbers.hpp"

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"supplementary", 's', OptionKind::flag, "",
     "also join every group that lists ACCOUNT as a member"},
    {"primary-group", 'g', OptionKind::text, "GROUP", "use GROUP (name or number) as the primary group"},
};

class AssumeIdentity : public Step {
  public:
    explicit AssumeIdentity(Identity identity) : identity_(std::move(identity)) {}
    void run(Chain&) override { assume_identity(identity_); }

  private:
    Identity identity_;
};

// "UID:GID" for containers without a user database: both C numbers.
std::optional<Identity> numeric_identity(std::string_view account) {
    std::size_t colon = account.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto uid = static_cast<uid_t>(parse_number("ACCOUNT", account.substr(0, colon), 0, max_account_id));
    auto gid = static_cast<gid_t>(parse_number("ACCOUNT", account.substr(colon + 1), 0, max_account_id));
    return Identity{uid, gid, {}};
}

// Accounts are looked up while planning, so an unknown name stops the whole
// chain before any earlier link has acted.
std::unique_ptr<Step> plan(Invocation& invocation) {
    bool supplementary = invocation.options().has("supplementary");
    auto primary_group = invocation.options().text("primary-group");
    std::string_view account = invocation.operand("ACCOUNT");

    Identity identity;
    if (auto numeric = numeric_identity(account)) {
        if (supplementary)
            throw usage_error("--supplementary", "needs an account name, not UID:GID");
        identity = *numeric;
    } else {
        Account found = find_account("ACCOUNT", account);
        identity = Identity{found.uid, found.gid, {}};
    }
    if (primary_group) identity.gid = find_group_or_number("--primary-group", *primary_group);
    identity.groups = supplementary ? account_groups(account, identity.gid) : std::vector<gid_t>{identity.gid};
    return std::make_unique<AssumeIdentity>(std::move(identity));
}

} // namespace

extern const AppletInfo setuidgid{
    {"setuidgid", "ACCOUNT NEXT-PROG [ARGS...]",
     "Run NEXT-PROG as ACCOUNT (a user name, or UID:GID): its uid, its gid, and no other groups.",
     options},
    plan,
};

} // namespace toolkit::applets
