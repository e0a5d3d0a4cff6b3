// local-stream-socket-listen: placeholder until the applet lands; refuses to run.
#include "applet.hpp"
#include "diagnostics.hpp"

namespace toolkit::applets {

namespace {
std::unique_ptr<Step> plan(Invocation&) { throw Failure(exit_failure, "", "not implemented yet"); }
} // namespace

extern const AppletInfo local_stream_socket_listen{{"local-stream-socket-listen", "NEXT-PROG [ARGS...]", "Not implemented yet.", {}}, plan};

} // namespace toolkit::applets
