// The listen step of the Internet applets (TCP and UDP): a numeric address, never a name.
#pragma once

#include "applet.hpp"

#include <memory>
#include <span>

namespace toolkit {

// The options of the listen applet for sockets of TYPE (SOCK_STREAM: TCP, SOCK_DGRAM: UDP).
std::span<const OptionSpec> inet_listen_options(int type);

// Plan HOST PORT NEXT-PROG...: a socket of TYPE bound to HOST and PORT
// (listening, for TCP) on descriptor 3+n (see tcp-socket-listen(1)).
std::unique_ptr<Step> plan_inet_listen(Invocation& invocation, int type);

} // namespace toolkit
