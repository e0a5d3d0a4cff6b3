// setsid: start a new session (and process group), then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"

#include <cerrno>
#include <unistd.h>

namespace toolkit::applets {

namespace {

// The kernel refuses a new session to a process group leader. Others fork
// then, so that the program runs as a child the caller cannot wait for; we
// stop instead, and say why.
Failure group_leader() {
    return Failure(exit_failure, "setsid",
                   "already a process group leader; start it from a process that is not");
}

class NewSession : public Step {
  public:
    void run(Chain&) override {
        if (::setsid() >= 0) return;
        if (errno == EPERM) throw group_leader();
        throw system_error("setsid", errno);
    }
};

// After an accept link this runs in a child forked per connection, which is
// never a group leader, whatever the process planning it is; run() checks there.
// A setsid earlier in the same process makes it a leader too: found here, before any link acts.
std::unique_ptr<Step> plan(Invocation& invocation) {
    PlannedChanges& planned = invocation.planned();
    if (planned.group_leader || (!planned.per_connection && ::getpgrp() == ::getpid()))
        throw group_leader();
    planned.group_leader = true;
    return std::make_unique<NewSession>();
}

} // namespace

extern const AppletInfo setsid{
    {"setsid",
     "NEXT-PROG [ARGS...]",
     "Start a new session with no controlling terminal, then run NEXT-PROG as its leader.",
     {}},
    plan,
};

} // namespace toolkit::applets
