// local-seqpacket-socket-listen: a listening AF_UNIX seqpacket socket on fd 3+n, then chain.
#include "local_listen.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

const LocalListenKind kind{SOCK_SEQPACKET, "local-seqpacket-socket-listen"};

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_local_listen(invocation, kind);
}

} // namespace

extern const AppletInfo local_seqpacket_socket_listen{
    {"local-seqpacket-socket-listen", "PATH NEXT-PROG [ARGS...]",
     "Listen on the AF_UNIX SOCK_SEQPACKET socket PATH (@NAME: abstract), on descriptor 3 (or the "
     "next one in a LISTEN_FDS set), then run NEXT-PROG.",
     local_listen_options(SOCK_SEQPACKET), "lseqpkt-listen"},
    plan,
};

} // namespace toolkit::applets
