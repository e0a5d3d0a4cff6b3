// Connecting with a deadline, and the client descriptors 6 and 7.
#include "client.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <poll.h>

namespace toolkit {

int connect_within(int socket_fd, const sockaddr* address, socklen_t length, int timeout_ms) {
    // After EINTR the connection may be under way, or done, or not begun: asking
    // again tells which (EALREADY, EISCONN), or begins it.
    int rc;
    do
        rc = ::connect(socket_fd, address, length);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 || errno == EISCONN) return 0;
    if (errno != EINPROGRESS && errno != EALREADY) return errno;
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int wait = -1;
        if (timeout_ms >= 0) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            wait = left.count() > 0 ? static_cast<int>(left.count()) : 0;
        }
        pollfd ready{socket_fd, POLLOUT, 0};
        int ready_count = ::poll(&ready, 1, wait);
        if (ready_count < 0 && errno == EINTR) continue;
        if (ready_count < 0) return errno;
        if (ready_count == 0) return ETIMEDOUT;
        int error = 0;
        socklen_t size = sizeof error;
        if (::getsockopt(socket_fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0) return errno;
        return error;
    }
}

void hand_over_connection(UniqueFd connection) {
    int fd = connection.get();
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ((flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0))
        throw system_error(descriptor_name(fd), errno);
    // Copies, each inheritable; the socket itself may already be 6 or 7.
    fd_move(client_read_fd, fd, true);
    fd_move(client_write_fd, fd, true);
    if (fd == client_read_fd || fd == client_write_fd) connection.release();
}

} // namespace toolkit
