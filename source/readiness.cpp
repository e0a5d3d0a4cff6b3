// Readiness after listen: a newline on the s6 notification descriptor, READY=1 to NOTIFY_SOCKET.
#include "readiness.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace toolkit {

namespace {

// SIGPIPE held for as long as this lives, and one raised meanwhile taken back:
// a notification reader that went away is then a failure with a message (EPIPE),
// not a silent death that leaves the socket file behind.
class SigpipeHeld {
  public:
    SigpipeHeld() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        ::sigprocmask(SIG_BLOCK, &pipe_, &saved_);
    }
    ~SigpipeHeld() {
        int err = errno;
        // Held before we came: whatever is pending is not ours to take.
        if (!sigismember(&saved_, SIGPIPE)) {
            timespec now{};
            ::sigtimedwait(&pipe_, nullptr, &now);
        }
        ::sigprocmask(SIG_SETMASK, &saved_, nullptr);
        errno = err;
    }
    SigpipeHeld(const SigpipeHeld&) = delete;
    SigpipeHeld& operator=(const SigpipeHeld&) = delete;

  private:
    sigset_t pipe_;
    sigset_t saved_;
};

bool write_newline(int fd) {
    SigpipeHeld held;
    return write_all(fd, "\n");
}

} // namespace

Readiness read_readiness(const ParsedOptions& given) {
    Readiness readiness;
    if (auto fd = given.number("notify-fd")) readiness.notify_fd = static_cast<int>(*fd);
    readiness.sd_notify = given.has("sd-notify");
    return readiness;
}

void check_readiness(Readiness& readiness, const PendingEnvironment& environment) {
    if (readiness.notify_fd && !fd_is_open(*readiness.notify_fd))
        throw Failure(exit_failure, "--notify-fd",
                      descriptor_name(*readiness.notify_fd) + " is not open");
    if (!readiness.sd_notify) return;
    const char* name = environment.get("NOTIFY_SOCKET");
    if (!name) throw Failure(exit_failure, "--sd-notify", "NOTIFY_SOCKET is not set");
    // The supervisor's variable, not a command-line mistake: 111, naming the option.
    try {
        readiness.notify_address = make_local_address("NOTIFY_SOCKET", name);
    } catch (const Failure& bad) {
        throw Failure(exit_failure, "--sd-notify", "NOTIFY_SOCKET: " + bad.detail());
    }
    readiness.notify_socket = name;
}

void announce_readiness(const Readiness& readiness) {
    if (readiness.notify_fd) {
        int fd = *readiness.notify_fd;
        if (!write_newline(fd)) throw system_error("--notify-fd " + descriptor_name(fd), errno);
        ::close(fd);
    }
    if (readiness.sd_notify) {
        const LocalAddress& address = readiness.notify_address;
        UniqueFd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("--sd-notify: socket", errno);
        static constexpr char ready[] = "READY=1";
        ssize_t sent;
        do
            sent = ::sendto(socket.get(), ready, sizeof ready - 1, MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&address.address), address.length);
        while (sent < 0 && errno == EINTR);
        if (sent < 0)
            throw system_error("--sd-notify: NOTIFY_SOCKET " + readiness.notify_socket, errno);
    }
}

} // namespace toolkit
