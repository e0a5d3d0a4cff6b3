// udp-socket-listen: a UDP socket bound to a numeric address on descriptor 3+n, then chain.
#include "inet_listen.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_inet_listen(invocation, SOCK_DGRAM);
}

} // namespace

extern const AppletInfo udp_socket_listen{
    {"udp-socket-listen", "HOST PORT NEXT-PROG [ARGS...]",
     "Bind a UDP socket to the numeric address HOST and PORT (:: takes IPv4 and IPv6), on "
     "descriptor 3 (or the next one in a LISTEN_FDS set), then run NEXT-PROG.",
     inet_listen_options(SOCK_DGRAM), "udp-listen"},
    plan,
};

} // namespace toolkit::applets
