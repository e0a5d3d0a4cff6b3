// tcp-socket-listen: a listening TCP socket on descriptor 3+n, then chain.
#include "inet_listen.hpp"

#include <sys/socket.h>

namespace toolkit::applets {

namespace {

std::unique_ptr<Step> plan(Invocation& invocation) {
    return plan_inet_listen(invocation, SOCK_STREAM);
}

} // namespace

extern const AppletInfo tcp_socket_listen{
    {"tcp-socket-listen", "HOST PORT NEXT-PROG [ARGS...]",
     "Listen for TCP connections on the numeric address HOST and PORT (:: takes IPv4 and IPv6), on "
     "descriptor 3 (or the next one in a LISTEN_FDS set), then run NEXT-PROG.",
     inet_listen_options(SOCK_STREAM), "tcp-listen"},
    plan,
};

} // namespace toolkit::applets
