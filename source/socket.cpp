// AF_UNIX addresses in both directions.
#include "socket.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>

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
    std::string path(address.sun_path, strnlen(address.sun_path, size));
    // A relative path "@admin" is a file, not the abstract name "admin": written
    // "./@admin", the same file, it cannot pass for one.
    if (path.starts_with('@')) path.insert(0, "./");
    return path;
}

} // namespace toolkit
