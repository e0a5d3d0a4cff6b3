// The listen step of the local socket applets (stream, seqpacket, datagram): one node, made safely.
#pragma once

#include "applet.hpp"

#include <memory>
#include <span>
#include <string_view>

namespace toolkit {

// Which local listen applet: the socket type, and the applet's name for
// what it says after a later link failed.
struct LocalListenKind {
    int type; // SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM
    std::string_view applet;
};

// The options of the listen applet for sockets of TYPE.
std::span<const OptionSpec> local_listen_options(int type);

// Plan PATH NEXT-PROG...: a socket of KIND bound to PATH (listening, but for
// datagram sockets) on descriptor 3+n (see local-stream-socket-listen(1)).
std::unique_ptr<Step> plan_local_listen(Invocation& invocation, const LocalListenKind& kind);

} // namespace toolkit
