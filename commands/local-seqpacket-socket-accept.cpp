// local-seqpacket-socket-accept: the UCSPI server for local SOCK_SEQPACKET sockets (shared loop).
#include "local_family.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_local_accept(invocation, SOCK_SEQPACKET);
}

} // namespace

extern const AppletInfo local_seqpacket_socket_accept{
    {"local-seqpacket-socket-accept", "NEXT-PROG [ARGS...]",
     "Accept connections on the listening local SOCK_SEQPACKET sockets from descriptor 3 on (or "
     "LISTEN_FDS), "
     "running NEXT-PROG for each with the connection on descriptors 0 and 1.",
     local_accept_options(), "lseqpkt-accept"},
    plan,
};

} // namespace toolkit::applets
