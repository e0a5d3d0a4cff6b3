// Readiness after listen: a newline on the s6 notification descriptor, READY=1 to NOTIFY_SOCKET.
#include "readiness.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace toolkit {

namespace {

LocalAddress notify_address(const PendingEnvironment& environment) {
    const char* name = environment.get("NOTIFY_SOCKET");
    if (!name) throw Failure(exit_failure, "--sd-notify", "NOTIFY_SOCKET is not set");
    return make_local_address("NOTIFY_SOCKET", name);
}

} // namespace

Readiness read_readiness(const ParsedOptions& given) {
    Readiness readiness;
    if (auto fd = given.number("notify-fd")) readiness.notify_fd = static_cast<int>(*fd);
    readiness.sd_notify = given.has("sd-notify");
    return readiness;
}

void check_readiness(const Readiness& readiness, const PendingEnvironment& environment) {
    if (readiness.notify_fd && !fd_is_open(*readiness.notify_fd))
        throw Failure(exit_failure, "--notify-fd",
                      descriptor_name(*readiness.notify_fd) + " is not open");
    if (readiness.sd_notify) notify_address(environment);
}

void announce_readiness(const Readiness& readiness, const PendingEnvironment& environment) {
    if (readiness.notify_fd) {
        int fd = *readiness.notify_fd;
        if (!write_all(fd, "\n")) throw system_error("--notify-fd " + descriptor_name(fd), errno);
        ::close(fd);
    }
    if (readiness.sd_notify) {
        LocalAddress address = notify_address(environment);
        UniqueFd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("--sd-notify: socket", errno);
        static constexpr char ready[] = "READY=1";
        ssize_t sent;
        do
            sent = ::sendto(socket.get(), ready, sizeof ready - 1, MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&address.address), address.length);
        while (sent < 0 && errno == EINTR);
        if (sent < 0)
            throw system_error("--sd-notify: NOTIFY_SOCKET " +
                                   std::string(environment.get("NOTIFY_SOCKET")),
                               errno);
    }
}

} // namespace toolkit
