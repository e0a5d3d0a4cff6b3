// AF_UNIX addresses: from a path or @name, and back.
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
