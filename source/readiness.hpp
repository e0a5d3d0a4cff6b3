// Telling a supervisor that the sockets of a chain are listening: s6's notification descriptor,
// systemd's sd_notify.
#pragma once

#include "environment.hpp"
#include "options.hpp"
#include "socket.hpp"

#include <climits>
#include <optional>
#include <string>

namespace toolkit {

struct Readiness {
    std::optional<int> notify_fd; // --notify-fd N: one newline on N, then N is closed
    bool sd_notify = false;       // --sd-notify: READY=1 to $NOTIFY_SOCKET
    bool wanted() const { return notify_fd || sd_notify; }
    // With --sd-notify, NOTIFY_SOCKET as the chain was started with it (set by
    // check_readiness): a later link may unset it for the program, which then
    // does not notify a second time, or change it, which does not redirect ours.
    std::string notify_socket;
    LocalAddress notify_address{};
};

// --notify-fd and --sd-notify, for the option table of every listen applet
// (an array of OptionSpec, so the entries are spelled out where it is made).
#define TOOLKIT_READINESS_OPTIONS                                                                  \
    {"notify-fd",                                                                                  \
     0,                                                                                            \
     OptionKind::number,                                                                           \
     "N",                                                                                          \
     "once listening, write a newline to descriptor N and close it (s6)",                          \
     0,                                                                                            \
     INT_MAX},                                                                                     \
        {"sd-notify", 0, OptionKind::flag, "",                                                     \
         "once listening, send READY=1 to $NOTIFY_SOCKET (systemd)"},

Readiness read_readiness(const ParsedOptions& given);

// Before any link acts: what is needed is there (descriptor N is open,
// NOTIFY_SOCKET is set and names a socket address, which is kept in
// READINESS). Throws naming the option, with status 111.
void check_readiness(Readiness& readiness, const PendingEnvironment& environment);

// The supervisor is told, once: a newline on descriptor N, which is then
// closed (the next program does not get it), and a READY=1 datagram to
// NOTIFY_SOCKET (a path, or @NAME in the abstract namespace, as
// check_readiness found it), sent from this process, whose credentials the
// kernel attaches. Throws naming what failed.
void announce_readiness(const Readiness& readiness);

} // namespace toolkit
