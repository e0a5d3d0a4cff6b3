// AF_UNIX addresses in both directions, and what the kernel knows about a local socket.
#include "socket.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

LocalAddress make_local_address(std::string_view subject, std::string_view name) {
    if (name.empty() || name == "@") throw usage_error(std::string(subject), "empty socket name");
    if (name.find('\0') != std::string_view::npos)
        throw usage_error(std::string(subject), "socket name contains a NUL byte");
    if (name.size() > max_local_name)
        throw usage_error(std::string(subject), "socket name is " + std::to_string(name.size()) +
                                                    " bytes; the limit is " +
                                                    std::to_string(max_local_name));
    LocalAddress local{};
    local.address.sun_family = AF_UNIX;
    std::memcpy(local.address.sun_path, name.data(), name.size());
    if (name[0] == '@') {
        local.address.sun_path[0] = '\0'; // abstract: no terminator, the length says where it ends
        local.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    } else {
        local.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1);
    }
    return local;
}

std::string describe_local_address(const sockaddr_un& address, socklen_t length) {
    constexpr socklen_t header = offsetof(sockaddr_un, sun_path);
    if (length <= header || address.sun_family != AF_UNIX) return {};
    std::size_t size = length - header;
    if (size > sizeof address.sun_path) size = sizeof address.sun_path;
    if (address.sun_path[0] == '\0') {
        // An abstract name may hold any byte. A NUL would cut the environment
        // entry short and announce another name, so it is written "\0", and
        // a backslash "\\": each written name stands for one address only.
        std::string name(1, '@');
        name.reserve(size + 8);
        for (std::size_t i = 1; i < size; ++i) {
            char c = address.sun_path[i];
            if (c == '\0')
                name.append("\\0");
            else if (c == '\\')
                name.append("\\\\");
            else
                name.push_back(c);
        }
        return name;
    }
    return std::string(address.sun_path, strnlen(address.sun_path, size));
}

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

// A connect(2) that never waits: 0 when a server took it (or would, with a
// full backlog), otherwise the errno.
int probe_connect(const LocalAddress& address) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) throw system_error("socket", errno);
    int rc;
    do
        rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address.address),
                       address.length);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) return 0;
    return errno;
}

} // namespace

bool server_answers(std::string_view subject, const LocalAddress& address) {
    int error = probe_connect(address);
    if (error == 0) return true;
    if (error == ECONNREFUSED) return false;
    throw system_error(std::string(subject), error);
}

bool node_server_answers(std::string_view subject, int node_fd, const LocalAddress& fallback) {
    int error =
        probe_connect(make_local_address(subject, "/proc/self/fd/" + std::to_string(node_fd)));
    if (error == 0) return true;
    if (error == ECONNREFUSED) return false;
    // No /proc (an early initramfs): the handle cannot be named, ask by path.
    if (error == ENOENT) return server_answers(subject, fallback);
    throw system_error(std::string(subject), error);
}

} // namespace toolkit
