// setuidgid: become an account (groups, gid, uid, in that order), then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "identity.hpp"

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"supplementary", 's', OptionKind::flag, "",
     "also join every group that lists ACCOUNT as a member"},
    {"primary-group", 'g', OptionKind::text, "GROUP",
     "use GROUP (name or number) as the primary group"},
};

class AssumeIdentity : public Step {
  public:
    explicit AssumeIdentity(Identity identity) : identity_(std::move(identity)) {}
    void run(Chain&) override { assume_identity(identity_); }

  private:
    Identity identity_;
};

// Accounts are looked up while planning, so an unknown name stops the whole
// chain before any earlier link has acted.
std::unique_ptr<Step> plan(Invocation& invocation) {
    bool supplementary = invocation.options().has("supplementary");
    auto primary_group = invocation.options().text("primary-group");
    std::string_view account = invocation.operand("ACCOUNT");
    auto step =
        std::make_unique<AssumeIdentity>(identity_of(account, supplementary, primary_group));
    // PATH is searched again as the account: a directory only root can search is passed over.
    invocation.planned().look_again = true;
    return step;
}

} // namespace

extern const AppletInfo setuidgid{
    {"setuidgid", "ACCOUNT NEXT-PROG [ARGS...]",
     "Run NEXT-PROG as ACCOUNT (a user name, or UID:GID): its uid, its gid, and no other groups.",
     options},
    plan,
};

} // namespace toolkit::applets
