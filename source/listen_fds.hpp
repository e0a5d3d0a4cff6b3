// The systemd socket-passing convention: LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES.
#pragma once

#include "environment.hpp"

#include <sys/types.h>

namespace toolkit {

constexpr int first_listen_fd = 3;

// How many listening descriptors (from fd 3 on) the environment hands to
// process PID: LISTEN_FDS when LISTEN_PID is PID and both are valid numbers,
// otherwise 0.
int inherited_listen_fds(const PendingEnvironment& environment, pid_t pid);

// Whether LISTEN_FDNAMES holds exactly COUNT names (a missing variable holds none).
bool listen_fdnames_match(const PendingEnvironment& environment, int count);

} // namespace toolkit
