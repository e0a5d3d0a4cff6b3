// local-stream-socket-listen: a listening AF_UNIX stream socket on descriptor 3+n, then chain.
#include "local_listen.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

const LocalListenKind kind{SOCK_STREAM, "local-stream-socket-listen"};

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_local_listen(invocation, kind);
}

} // namespace

extern const AppletInfo local_stream_socket_listen{
    {"local-stream-socket-listen", "PATH NEXT-PROG [ARGS...]",
     "Listen on the AF_UNIX stream socket PATH (@NAME: abstract), on descriptor 3 (or the next one "
     "in a LISTEN_FDS set), then run NEXT-PROG.",
     local_listen_options(SOCK_STREAM), "lstream-listen"},
    plan,
};

} // namespace toolkit::applets
