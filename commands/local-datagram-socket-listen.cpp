// local-datagram-socket-listen: an AF_UNIX datagram socket bound to PATH on fd 3+n, then chain.
#include "local_listen.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

const LocalListenKind kind{SOCK_DGRAM, "local-datagram-socket-listen"};

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_local_listen(invocation, kind);
}

} // namespace

extern const AppletInfo local_datagram_socket_listen{
    {"local-datagram-socket-listen", "PATH NEXT-PROG [ARGS...]",
     "Bind an AF_UNIX datagram socket to PATH (@NAME: abstract), on descriptor 3 (or the next one "
     "in a LISTEN_FDS set), then run NEXT-PROG.",
     local_listen_options(SOCK_DGRAM), "ldgram-listen"},
    plan,
};

} // namespace toolkit::applets
