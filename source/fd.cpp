// Descriptor helpers; every failure names the descriptor.
#include "fd.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

std::string path_of(int fd) {
    char where[PATH_MAX];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t length = ::readlink(link.c_str(), where, sizeof where);
    if (length <= 0 || where[0] != '/' || static_cast<std::size_t>(length) >= sizeof where)
        return {};
    where[length] = '\0';
    struct stat held, named;
    if (::fstat(fd, &held) < 0 || ::stat(where, &named) < 0 || held.st_dev != named.st_dev ||
        held.st_ino != named.st_ino)
        return {};
    return std::string(where, static_cast<std::size_t>(length));
}

std::string descriptor_name(int fd) {
    return "descriptor " + std::to_string(fd);
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

bool fd_is_open(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

void set_close_on_exec(int fd, bool on) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) throw system_error(descriptor_name(fd), errno);
    int wanted = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    if (wanted != flags && ::fcntl(fd, F_SETFD, wanted) < 0)
        throw system_error(descriptor_name(fd), errno);
}

void set_socket_option(int fd, int level, int option, int value, const char* name) {
    if (::setsockopt(fd, level, option, &value, sizeof value) < 0) throw system_error(name, errno);
}

void fd_move(int to, int from, bool copy) {
    if (to == from) {
        set_close_on_exec(to, false);
        return;
    }
    // dup2 alone would also report a closed FROM, but only after closing TO.
    if (::fcntl(from, F_GETFD) < 0) throw system_error(descriptor_name(from), errno);
    while (::dup2(from, to) < 0)
        if (errno != EINTR) throw system_error(descriptor_name(to), errno);
    if (!copy) ::close(from);
}

std::string_view file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISFIFO(mode)) return "a FIFO (pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "a file of an unknown kind";
}

} // namespace toolkit
