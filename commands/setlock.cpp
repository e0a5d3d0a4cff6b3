// setlock: hold an exclusive lock on a file for as long as the next program runs.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"
#include "fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"no-wait", 'n', OptionKind::flag, "", "fail at once when another process holds the lock"},
    {"wait", 'N', OptionKind::flag, "", "wait until the lock is free (the default)"},
    {"exit-quietly", 'x', OptionKind::flag, "",
     "when the lock is held by another, exit 0 without a message"},
    {"fail", 'X', OptionKind::flag, "", "when the lock is held by another, exit 111 (the default)"},
};

// The lock's descriptor is the lowest free one from 10 up: on 3, 6 or 7 (or
// on a standard descriptor closed at the start) a later link's socket would
// take its place, closing it and silently letting the lock go. The file is
// opened there directly, with the numbers below held meanwhile: moving it
// there would close a descriptor of the file, which drops every POSIX lock
// this process holds on it (an s6-setlock around us, say).
constexpr int lowest_lock_fd = 10;

UniqueFd open_above_low_numbers(const char* path, int flags, mode_t mode) {
    int held[lowest_lock_fd];
    int count = 0;
    for (;;) {
        int placeholder = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        // Out of descriptors (a limit of 10 or less), or no "/": give one
        // back, so that the file gets the highest number there is.
        if (placeholder < 0) {
            if (count > 0) ::close(held[--count]);
            break;
        }
        if (placeholder >= lowest_lock_fd) {
            ::close(placeholder); // the number the file is opened on next
            break;
        }
        held[count++] = placeholder;
    }
    UniqueFd fd(::open(path, flags, mode));
    int err = errno;
    while (count > 0)
        ::close(held[--count]);
    errno = err;
    return fd;
}

class TakeLock : public Step {
  public:
    TakeLock(std::string file, bool wait, bool quiet)
        : file_(std::move(file)), wait_(wait), quiet_(quiet) {}
    void run(Chain&) override {
        // Never through a symbolic link: whoever owns the directory could point
        // it at any file, which we would create. Non-blocking: a FIFO must not hang us.
        UniqueFd fd = open_above_low_numbers(
            file_.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
            0600);
        struct stat st;
        if (!fd || ::fstat(fd.get(), &st) < 0) throw system_error(file_, errno);
        if (!S_ISREG(st.st_mode))
            throw Failure(exit_failure, file_,
                          std::string(file_kind(st.st_mode)) + ", not a regular file");
        while (::flock(fd.get(), LOCK_EX | (wait_ ? 0 : LOCK_NB)) < 0) {
            if (errno == EINTR) continue;
            if (errno != EWOULDBLOCK) throw system_error(file_, errno);
            if (quiet_) throw EarlyExit{exit_success};
            throw Failure(exit_failure, file_, "locked by another process");
        }
        // The lock lives as long as this open file: the next program keeps it.
        set_close_on_exec(fd.get(), false);
        fd.release();
    }

  private:
    std::string file_;
    bool wait_, quiet_;
};

Failure contradiction(const char* one, const char* other) {
    return usage_error(one, std::string("contradicts ") + other);
}

// FILE itself may not exist yet; its directory must, where the chain will be.
std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    if (given.has("no-wait") && given.has("wait")) throw contradiction("-n", "-N");
    if (given.has("exit-quietly") && given.has("fail")) throw contradiction("-x", "-X");
    std::string file(invocation.path_operand("FILE"));
    std::size_t slash = file.rfind('/');
    std::string directory = slash == std::string::npos ? "." : file.substr(0, slash + 1);
    const PlannedChanges& planned = invocation.planned();
    SearchPlace place{planned.root, planned.directory};
    if (!open_in(place, directory, O_PATH | O_DIRECTORY)) throw system_error(file, errno);
    // What would be refused when the lock is taken is refused now, before any link acts.
    if (UniqueFd existing = open_in(place, file, O_PATH | O_NOFOLLOW)) {
        struct stat st;
        if (::fstat(existing.get(), &st) < 0) throw system_error(file, errno);
        if (S_ISLNK(st.st_mode)) throw system_error(file, ELOOP);
        if (!S_ISREG(st.st_mode))
            throw Failure(exit_failure, file,
                          std::string(file_kind(st.st_mode)) + ", not a regular file");
    }
    return std::make_unique<TakeLock>(std::move(file), !given.has("no-wait"),
                                      given.has("exit-quietly"));
}

} // namespace

extern const AppletInfo setlock{
    {"setlock", "FILE NEXT-PROG [ARGS...]",
     "Take an exclusive lock on FILE (made if absent) and run NEXT-PROG holding it.", options},
    plan,
};

} // namespace toolkit::applets
