// local-stream-socket-accept: the UCSPI server for local stream sockets, on the shared accept loop.
#include "local_family.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_local_accept(invocation, SOCK_STREAM);
}

} // namespace

extern const AppletInfo local_stream_socket_accept{
    {"local-stream-socket-accept", "NEXT-PROG [ARGS...]",
     "Accept connections on the listening local sockets from descriptor 3 on (or LISTEN_FDS), "
     "running NEXT-PROG for each with the connection on descriptors 0 and 1.",
     local_accept_options(), "lstream-accept"},
    plan,
};

} // namespace toolkit::applets
