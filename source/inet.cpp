// Numeric Internet addresses: inet_pton and inet_ntop with the checks and spellings UCSPI wants.
#include "inet.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"
#include "numbers.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <net/if.h>
#include <sys/ioctl.h>

namespace toolkit {

namespace {

sockaddr_in& v4(sockaddr_storage& storage) {
    return reinterpret_cast<sockaddr_in&>(storage);
}
const sockaddr_in& v4(const sockaddr_storage& storage) {
    return reinterpret_cast<const sockaddr_in&>(storage);
}
sockaddr_in6& v6(sockaddr_storage& storage) {
    return reinterpret_cast<sockaddr_in6&>(storage);
}
const sockaddr_in6& v6(const sockaddr_storage& storage) {
    return reinterpret_cast<const sockaddr_in6&>(storage);
}

// if_nametoindex(3) and if_indextoname(3) by hand: glibc's bring its netlink
// and getifaddrs code and four strncpy variants, some 20 KB, into the static binary.
int interface_request(unsigned long request, ifreq& interface) {
    UniqueFd any(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!any) return errno;
    if (::ioctl(any.get(), request, &interface) < 0) return errno;
    return 0;
}

std::string ntop(int family, const void* bytes) {
    char text[INET6_ADDRSTRLEN];
    if (!::inet_ntop(family, bytes, text, sizeof text)) return "?";
    return text;
}

// A name is what people give most often where a number is wanted: say why it is refused.
bool looks_like_a_name(std::string_view host) {
    return std::any_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    });
}

std::uint32_t parse_scope(std::string_view subject, std::string_view scope) {
    if (scope.empty()) throw usage_error(std::string(subject), "empty scope after '%'");
    // An index is decimal digits only; anything else is an interface name,
    // which may start with a digit ("9net").
    if (std::all_of(scope.begin(), scope.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint32_t index = 0;
        auto [end, error] = std::from_chars(scope.data(), scope.data() + scope.size(), index);
        if (error != std::errc() || end != scope.data() + scope.size())
            throw usage_error(std::string(subject),
                              "interface index out of range: " + std::string(scope));
        return index;
    }
    return interface_index(subject, scope);
}

} // namespace

Failure scope_needed(std::string_view subject, std::string_view host) {
    std::string text(host.substr(0, host.find('%'))); // "fe80::1%0": no scope either
    return usage_error(std::string(subject),
                       text + " is link-local: give its interface (such as " + text + "%eth0)");
}

unsigned interface_index(std::string_view subject, std::string_view name) {
    // What the kernel refuses in an interface name (dev_valid_name).
    if (name.empty() || name.size() >= IF_NAMESIZE ||
        name.find_first_of(std::string_view("/: \t\n\0", 6)) != std::string_view::npos)
        throw usage_error(std::string(subject), "not an interface name: " + std::string(name));
    ifreq interface {};
    name.copy(interface.ifr_name, name.size());
    int error = interface_request(SIOCGIFINDEX, interface);
    if (error == 0) return static_cast<unsigned>(interface.ifr_ifindex);
    if (error == ENODEV)
        throw lookup_error(std::string(subject), "no network interface " + std::string(name));
    throw system_error(std::string(subject) + " " + std::string(name), error);
}

InetAddress::InetAddress(const sockaddr_storage& address, socklen_t length) {
    std::memcpy(&storage_, &address, std::min<std::size_t>(length, sizeof storage_));
}

socklen_t InetAddress::length() const {
    return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::uint16_t InetAddress::port() const {
    return ntohs(family() == AF_INET6 ? v6(storage_).sin6_port : v4(storage_).sin_port);
}

void InetAddress::set_port(std::uint16_t port) {
    if (family() == AF_INET6)
        v6(storage_).sin6_port = htons(port);
    else
        v4(storage_).sin_port = htons(port);
}

std::uint32_t InetAddress::scope() const {
    return family() == AF_INET6 ? v6(storage_).sin6_scope_id : 0;
}

bool InetAddress::is_wildcard() const {
    if (family() == AF_INET6) {
        // ::ffff:0.0.0.0 is the IPv4 wildcard written as IPv6.
        const in6_addr& address = v6(storage_).sin6_addr;
        return IN6_IS_ADDR_UNSPECIFIED(&address) ||
               (IN6_IS_ADDR_V4MAPPED(&address) && address.s6_addr32[3] == 0);
    }
    return v4(storage_).sin_addr.s_addr == htonl(INADDR_ANY);
}

bool InetAddress::is_v4_mapped() const {
    return family() == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6(storage_).sin6_addr);
}

bool InetAddress::is_link_local() const {
    if (family() != AF_INET6) return false;
    const in6_addr& address = v6(storage_).sin6_addr;
    return IN6_IS_ADDR_LINKLOCAL(&address) || IN6_IS_ADDR_MC_LINKLOCAL(&address) ||
           IN6_IS_ADDR_MC_NODELOCAL(&address);
}

std::string InetAddress::host() const {
    if (family() == AF_INET) return ntop(AF_INET, &v4(storage_).sin_addr);
    const in6_addr& address = v6(storage_).sin6_addr;
    // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d; UCSPI
    // programs (and rules written for IPv4) expect a.b.c.d.
    if (IN6_IS_ADDR_V4MAPPED(&address)) return ntop(AF_INET, &address.s6_addr[12]);
    return ntop(AF_INET6, &address);
}

std::string InetAddress::describe() const {
    std::string text = host();
    if (std::uint32_t index = scope()) {
        ifreq interface {};
        interface.ifr_ifindex = static_cast<int>(index);
        text.append("%").append(
            interface_request(SIOCGIFNAME, interface) == 0
                ? std::string(interface.ifr_name, strnlen(interface.ifr_name, IF_NAMESIZE))
                : std::to_string(index));
    }
    return text + " port " + std::to_string(port());
}

InetAddress parse_inet_address(std::string_view subject, std::string_view host,
                               std::uint16_t port) {
    sockaddr_storage storage{};
    std::string text(host);
    if (host.empty()) throw usage_error(std::string(subject), "empty address");
    if (host.find(':') != std::string_view::npos) {
        std::size_t percent = text.find('%');
        std::string bare = text.substr(0, percent);
        auto& address = v6(storage);
        address.sin6_family = AF_INET6;
        if (::inet_pton(AF_INET6, bare.c_str(), &address.sin6_addr) != 1)
            throw usage_error(std::string(subject), "not a numeric IPv6 address: " + text);
        if (percent != std::string::npos)
            address.sin6_scope_id = parse_scope(subject, host.substr(percent + 1));
    } else {
        auto& address = v4(storage);
        address.sin_family = AF_INET;
        if (host.find('%') != std::string_view::npos)
            throw usage_error(std::string(subject), "an IPv4 address has no scope: " + text);
        if (::inet_pton(AF_INET, text.c_str(), &address.sin_addr) != 1) {
            if (looks_like_a_name(host))
                throw usage_error(std::string(subject),
                                  text + " is a host name, and names are never looked up: give a "
                                         "numeric address (such as 127.0.0.1 or ::1)");
            // tcpserver and tcpsvd read "0" as every IPv4 address; say what to write here.
            if (host == "0")
                throw usage_error(std::string(subject), "0 is not an address: write 0.0.0.0 for "
                                                        "every IPv4 address, :: for IPv4 and IPv6");
            throw usage_error(std::string(subject), "not a numeric IPv4 or IPv6 address: " + text);
        }
    }
    InetAddress address(storage, sizeof storage);
    address.set_port(port);
    return address;
}

std::uint16_t parse_port(std::string_view subject, std::string_view text) {
    return static_cast<std::uint16_t>(parse_number(subject, text, 0, 65535));
}

namespace {

InetAddress inet_name(int socket_fd, bool remote) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    auto* address = reinterpret_cast<sockaddr*>(&storage);
    int rc = remote ? ::getpeername(socket_fd, address, &length)
                    : ::getsockname(socket_fd, address, &length);
    if (rc < 0) throw system_error(descriptor_name(socket_fd), errno);
    if (storage.ss_family != AF_INET && storage.ss_family != AF_INET6)
        throw Failure(exit_failure, descriptor_name(socket_fd), "is not an IPv4 or IPv6 socket");
    return InetAddress(storage, length);
}

} // namespace

InetAddress local_inet_address(int socket_fd) {
    return inet_name(socket_fd, false);
}
InetAddress remote_inet_address(int socket_fd) {
    return inet_name(socket_fd, true);
}

} // namespace toolkit
