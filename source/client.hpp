// The UCSPI client side: connect (within a time limit), then the connection on descriptors 6 and 7.
#pragma once

#include "fd.hpp"

#include <sys/socket.h>

namespace toolkit {

// UCSPI clients read from 6 and write to 7.
constexpr int client_read_fd = 6;
constexpr int client_write_fd = 7;

// connect(2) for a non-blocking SOCKET_FD, waiting at most TIMEOUT_MS
// milliseconds (negative: as long as the kernel tries) for the connection
// to be made. 0 when it is, otherwise the errno that says why not
// (ETIMEDOUT when the time ran out). The socket stays non-blocking.
int connect_within(int socket_fd, const sockaddr* address, socklen_t length, int timeout_ms);

// Put CONNECTION on descriptors 6 and 7 (two descriptors of one socket, both
// inheritable and blocking), closing whatever they were, and keep it open
// nowhere else.
void hand_over_connection(UniqueFd connection);

} // namespace toolkit
