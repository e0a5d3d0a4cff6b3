// envuidgid: put an account's uid and gid (and groups) in the environment, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "identity.hpp"

#include <string>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"supplementary", 's', OptionKind::flag, "",
     "also set GIDLIST: the gid and every group that lists ACCOUNT as a member"},
};

// The values, worked out while planning (the account is looked up then); the
// same ones go into the planned environment, for setuidgid-fromenv's plan.
class SetIdentityVariables : public Step {
  public:
    SetIdentityVariables(std::string uid, std::string gid, std::string groups, bool with_groups)
        : uid_(std::move(uid)), gid_(std::move(gid)), groups_(std::move(groups)),
          with_groups_(with_groups) {}
    void run(Chain& chain) override { apply(chain.environment); }
    void apply(PendingEnvironment& environment) const {
        environment.set("UID", uid_);
        environment.set("GID", gid_);
        // An inherited GIDLIST must not pass for this account's.
        if (with_groups_)
            environment.set("GIDLIST", groups_);
        else
            environment.unset("GIDLIST");
    }

  private:
    std::string uid_, gid_, groups_;
    bool with_groups_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    bool supplementary = invocation.options().has("supplementary");
    Identity identity = identity_of(invocation.operand("ACCOUNT"), supplementary);
    std::string groups;
    for (gid_t gid : identity.groups)
        groups.append(groups.empty() ? "" : ",").append(std::to_string(gid));
    auto step = std::make_unique<SetIdentityVariables>(std::to_string(identity.uid),
                                                       std::to_string(identity.gid),
                                                       std::move(groups), supplementary);
    step->apply(invocation.planned().environment);
    return step;
}

} // namespace

extern const AppletInfo envuidgid{
    {"envuidgid", "ACCOUNT NEXT-PROG [ARGS...]",
     "Set UID and GID (with -s, GIDLIST too) to ACCOUNT's ids, then run NEXT-PROG as before.",
     options},
    plan,
};

} // namespace toolkit::applets
