// The file of a local socket: path parts, the node the kernel bound, server probes, the node of a
// listener.
#include "socket_node.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

SocketPathParts split_socket_path(std::string_view subject, std::string_view path) {
    std::size_t slash = path.rfind('/');
    std::string_view directory = slash == std::string_view::npos ? "."
                                 : slash == 0                    ? path.substr(0, 1)
                                                                 : path.substr(0, slash);
    std::string_view leaf = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (leaf.empty() || leaf == "." || leaf == "..")
        throw usage_error(std::string(subject),
                          "socket path " + std::string(path) + " does not end in a file name");
    return SocketPathParts{std::string(directory), std::string(leaf)};
}

std::optional<std::uint32_t> bound_node_inode(int socket_fd) {
    struct stat self;
    if (::fstat(socket_fd, &self) < 0) return std::nullopt;
    UniqueFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!netlink) return std::nullopt;

    struct {
        nlmsghdr header;
        unix_diag_req query;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.query.sdiag_family = AF_UNIX;
    request.query.udiag_states = ~0u;
    request.query.udiag_ino = static_cast<std::uint32_t>(self.st_ino);
    request.query.udiag_show = UDIAG_SHOW_VFS;
    request.query.udiag_cookie[0] = request.query.udiag_cookie[1] = ~0u; // "no cookie"
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(netlink.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        return std::nullopt;

    alignas(nlmsghdr) char buffer[4096];
    ssize_t received;
    do
        received = ::recv(netlink.get(), buffer, sizeof buffer, 0);
    while (received < 0 && errno == EINTR);
    if (received < 0) return std::nullopt;
    auto size = static_cast<unsigned>(received);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, size);
         header = NLMSG_NEXT(header, size)) {
        if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            return std::nullopt; // NLMSG_ERROR and the like
        auto* message = static_cast<unix_diag_msg*>(NLMSG_DATA(header));
        if (message->udiag_ino != request.query.udiag_ino) continue;
        auto length = static_cast<unsigned>(header->nlmsg_len - NLMSG_LENGTH(sizeof *message));
        for (auto* attribute = reinterpret_cast<rtattr*>(message + 1); RTA_OK(attribute, length);
             attribute = RTA_NEXT(attribute, length)) {
            if (attribute->rta_type != UNIX_DIAG_VFS) continue;
            unix_diag_vfs vfs;
            std::memcpy(&vfs, RTA_DATA(attribute), sizeof vfs);
            return vfs.udiag_vfs_ino;
        }
    }
    return std::nullopt;
}

namespace {

// A connect(2) that never waits: 0 when a socket of TYPE took it (or would,
// with a full backlog), or a live one of another type is there; otherwise the errno.
// A datagram socket that is connected to another peer refuses our datagram
// probe with EPERM: it is bound and alive, so in use as much as any.
int probe_connect(const LocalAddress& address, int type) {
    UniqueFd probe(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) throw system_error("socket", errno);
    int rc;
    do
        rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address.address),
                       address.length);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS || errno == EPROTOTYPE) return 0;
    if (type == SOCK_DGRAM && errno == EPERM) return 0;
    return errno;
}

} // namespace

bool server_answers(std::string_view subject, const LocalAddress& address, int type) {
    int error = probe_connect(address, type);
    if (error == 0) return true;
    if (error == ECONNREFUSED) return false;
    throw system_error(std::string(subject), error);
}

bool node_server_answers(std::string_view subject, int node_fd, const LocalAddress& fallback,
                         int type) {
    int error = probe_connect(
        make_local_address(subject, "/proc/self/fd/" + std::to_string(node_fd)), type);
    if (error == 0) return true;
    if (error == ECONNREFUSED) return false;
    // No /proc (an early initramfs): the handle cannot be named, ask by path.
    if (error == ENOENT) return server_answers(subject, fallback, type);
    throw system_error(std::string(subject), error);
}

SocketNode::SocketNode(std::string_view path) : path_(path) {
    SocketPathParts parts = split_socket_path("PATH", path);
    directory_path_ = std::move(parts.directory);
    leaf_ = std::move(parts.leaf);
    directory_.reset(::open(directory_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!directory_) throw system_error(path_, errno);
    struct stat held;
    if (::fstat(directory_.get(), &held) < 0) throw system_error(path_, errno);
    directory_device_ = held.st_dev;
    directory_inode_ = held.st_ino;
    // The undo reopens the directory by name, perhaps after a later link has
    // changed the working directory: a relative name would then lead elsewhere.
    // Without such a name (no /proc, a directory outside our root) the
    // relative one stays: right unless a later link changes directory.
    if (!directory_path_.starts_with('/')) {
        std::string absolute = path_of(directory_.get());
        if (!absolute.empty()) directory_path_ = std::move(absolute);
    }
}

void SocketNode::remove_stale(const LocalAddress& address, int type) {
    const char* leaf = leaf_.c_str();
    struct stat found;
    if (::fstatat(directory_.get(), leaf, &found, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw system_error(path_, errno);
    }
    if (!S_ISSOCK(found.st_mode))
        throw Failure(exit_failure, path_,
                      "is " + std::string(file_kind(found.st_mode)) + ", not a socket; left alone");
    // Probe the very socket file that was looked at, through a handle on it.
    UniqueFd node(::openat(directory_.get(), leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!node) throw system_error(path_, errno);
    struct stat held;
    if (::fstat(node.get(), &held) < 0) throw system_error(path_, errno);
    if (held.st_dev != found.st_dev || held.st_ino != found.st_ino)
        throw Failure(exit_failure, path_, "changed while being checked; left alone");
    if (node_server_answers(path_, node.get(), address, type))
        throw Failure(exit_failure, path_, "in use by a running server");
    // Unlink the very file we probed: one swapped in meanwhile is left alone.
    struct stat now;
    if (::fstatat(directory_.get(), leaf, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
        now.st_dev != found.st_dev || now.st_ino != found.st_ino)
        throw Failure(exit_failure, path_, "changed while being checked; left alone");
    if (::unlinkat(directory_.get(), leaf, 0) < 0 && errno != ENOENT)
        throw system_error(path_, errno);
}

void SocketNode::record_bind(int socket_fd, std::optional<mode_t> mode) {
    kernel_inode_ = bound_node_inode(socket_fd);
    mode_ = mode;
    owner_ = ::geteuid();
}

// Whether NODE (found at the last component of PATH) is the file our socket
// was bound to. Hard links and renames stay within one file system, so the
// inode number is enough. Without sock_diag, settle for a socket as bind
// just made it.
bool SocketNode::is_ours(const struct stat& node) const {
    if (!S_ISSOCK(node.st_mode)) return false;
    if (confirmed_) return node.st_dev == confirmed_->first && node.st_ino == confirmed_->second;
    if (kernel_inode_) return *kernel_inode_ == static_cast<std::uint32_t>(node.st_ino);
    return node.st_uid == owner_ && node.st_nlink == 1 &&
           (!mode_ || (node.st_mode & 0777) == (*mode_ & 0777));
}

// A handle on the file our socket was bound to that nobody can redirect:
// O_PATH opens no file, O_NOFOLLOW takes a symbolic link as itself. When
// PATH's directory was swapped between pinning and bind(2), the pinned
// directory does not hold that file, and nothing is touched.
UniqueFd SocketNode::open_bound() {
    UniqueFd handle(::openat(directory_.get(), leaf_.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!handle && errno == ENOENT) {
        said_left_ = true;
        throw Failure(exit_failure, path_, "is gone from its directory after bind; left alone");
    }
    if (!handle) throw system_error(path_, errno);
    struct stat node;
    if (::fstat(handle.get(), &node) < 0) throw system_error(path_, errno);
    if (!is_ours(node)) {
        said_left_ = true;
        throw Failure(exit_failure, path_, "was replaced after bind; left alone");
    }
    confirmed_ = std::pair(node.st_dev, node.st_ino);
    return handle;
}

void SocketNode::set_owner_and_mode(uid_t uid, gid_t gid, std::optional<mode_t> mode) {
    UniqueFd handle = open_bound();
    constexpr auto keep = static_cast<uid_t>(-1);
    if ((uid != keep || gid != static_cast<gid_t>(-1)) &&
        ::fchownat(handle.get(), "", uid, gid, AT_EMPTY_PATH) < 0)
        throw system_error(path_, errno);
    // The umask cannot give set-id and sticky bits (and chown clears set-id
    // bits): set them through the handle, whose /proc entry is that inode.
    if (mode && (*mode & 07000)) {
        std::string inode = "/proc/self/fd/" + std::to_string(handle.get());
        if (::chmod(inode.c_str(), *mode) < 0) throw system_error(path_, errno);
    }
}

bool SocketNode::remove(std::string& reason) const {
    if (said_left_) return true; // the failure itself said where the socket is and why
    UniqueFd dir(::open(directory_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        reason = std::strerror(errno);
        return false;
    }
    struct stat held;
    if (::fstat(dir.get(), &held) < 0 || held.st_dev != directory_device_ ||
        held.st_ino != directory_inode_) {
        // Renamed or replaced, or another root: not ours to touch, but our node is still somewhere.
        reason = directory_path_ + " is no longer the directory it was made in";
        return false;
    }
    struct stat now;
    if (::fstatat(dir.get(), leaf_.c_str(), &now, AT_SYMLINK_NOFOLLOW) < 0) {
        reason = std::strerror(errno);
        return errno == ENOENT;
    }
    if (!is_ours(now)) return true;
    if (::unlinkat(dir.get(), leaf_.c_str(), 0) == 0 || errno == ENOENT) return true;
    reason = std::strerror(errno);
    return false;
}

} // namespace toolkit
