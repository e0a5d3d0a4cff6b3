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

// How UCSPI names an address: the path, "@NAME" for an abstract one, "" when unnamed.
std::string describe_local_address(const sockaddr_un& address, socklen_t length);

} // namespace toolkit

namespace toolkit {

// The inode number of the filesystem node the kernel bound SOCKET_FD to, as
// the kernel's socket diagnostics (sock_diag) report it: only its low 32 bits
// are reported. nullopt when the kernel cannot tell (no unix_diag support).
std::optional<std::uint32_t> bound_node_inode(int socket_fd);

// Whether a server accepts stream connections at ADDRESS. The probe never
// waits (a full backlog counts as a server); a refused connection means no
// server. Any other error is thrown, naming SUBJECT.
bool server_answers(std::string_view subject, const LocalAddress& address);

} // namespace toolkit
