// AF_UNIX addresses (from a path or @name, and back); what the kernel knows of a local socket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

namespace toolkit {

struct LocalAddress {
    sockaddr_un address;
    socklen_t length;
    bool abstract() const { return length > sizeof(sa_family_t) && address.sun_path[0] == '\0'; }
};

// The longest path (or @name, counting the @) that fits in sun_path.
constexpr std::size_t max_local_name = sizeof(sockaddr_un::sun_path) - 1;

// "@NAME" is the Linux abstract namespace; anything else is a path.
// A name that does not fit is a usage error stating the limit.
LocalAddress make_local_address(std::string_view subject, std::string_view name);

// How UCSPI names an address: the path, "@NAME" for an abstract one, "" when
// unnamed. In an abstract NAME a NUL byte is written \0 and a backslash \\, so
// that the result holds no NUL and names one address only (a path holds no NUL).
std::string describe_local_address(const sockaddr_un& address, socklen_t length);

} // namespace toolkit

namespace toolkit {

// The inode number of the filesystem node the kernel bound SOCKET_FD to, as
// the kernel's socket diagnostics (sock_diag) report it: only its low 32 bits
// are reported. nullopt when the kernel cannot tell (no unix_diag support).
std::optional<std::uint32_t> bound_node_inode(int socket_fd);

// A socket path cut where its directory ends: "a/b/s" is "a/b" and "s",
// "s" is "." and "s", "/s" is "/" and "s". A path whose last component is
// empty, "." or ".." names no new file: a usage error naming SUBJECT.
struct SocketPathParts {
    std::string directory;
    std::string leaf;
};
SocketPathParts split_socket_path(std::string_view subject, std::string_view path);

// Whether a server accepts stream connections at ADDRESS. The probe never
// waits (a full backlog counts as a server); a refused connection means no
// server. Any other error is thrown, naming SUBJECT.
bool server_answers(std::string_view subject, const LocalAddress& address);

// The same question about the socket file NODE_FD holds (an O_PATH handle),
// asked through /proc/self/fd so that no path is resolved again. Without
// /proc, FALLBACK is asked instead.
bool node_server_answers(std::string_view subject, int node_fd, const LocalAddress& fallback);

} // namespace toolkit
