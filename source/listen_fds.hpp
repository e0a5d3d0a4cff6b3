// The systemd socket-passing convention: LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES.
#pragma once

#include "environment.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace toolkit {

constexpr int first_listen_fd = 3;

// How many listening descriptors (from fd 3 on) the environment hands to
// process PID: LISTEN_FDS when LISTEN_PID is PID and both are valid numbers,
// otherwise 0.
int inherited_listen_fds(const PendingEnvironment& environment, pid_t pid);

// Whether LISTEN_FDNAMES holds exactly COUNT names (a missing variable holds none).
bool listen_fdnames_match(const PendingEnvironment& environment, int count);

// --name: what systemd's FileDescriptorName= allows, 1..255 printable ASCII
// characters and no ':' (the separator); a usage error otherwise.
void check_listen_fd_name(std::string_view name);

// How a listen applet tells the next program about the socket it put on
// descriptor 3 + INHERITED (INHERITED: the set it appended to, 0 without one).
struct ListenAnnouncement {
    bool systemd = false;            // LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES
    bool upstart = false;            // UPSTART_FDS, UPSTART_EVENTS
    std::optional<std::string> name; // this socket's name in LISTEN_FDNAMES
};
void announce_listener(PendingEnvironment& environment, const ListenAnnouncement& announcement,
                       int inherited);

} // namespace toolkit
