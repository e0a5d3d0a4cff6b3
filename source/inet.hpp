// Numeric IPv4 and IPv6 addresses with a port: read without DNS, written as UCSPI writes them.
#pragma once

#include "diagnostics.hpp"

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace toolkit {

// One IPv4 or IPv6 socket address (sockaddr_in or sockaddr_in6, by family).
class InetAddress {
  public:
    InetAddress() = default;
    // What the kernel wrote to ADDRESS (getsockname, accept): family() tells
    // whether it is an address of this kind at all.
    InetAddress(const sockaddr_storage& address, socklen_t length);

    int family() const { return storage_.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t length() const;
    std::uint16_t port() const;
    void set_port(std::uint16_t port);
    // The IPv6 scope (interface index); 0 for IPv4 and unscoped addresses.
    std::uint32_t scope() const;
    // 0.0.0.0 or ::, the address of every interface.
    bool is_wildcard() const;
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d): only IPv4 traffic reaches it.
    bool is_v4_mapped() const;
    // An IPv6 link-local (fe80::/10) or link- or interface-local multicast
    // address: one that means something only on one interface.
    bool is_link_local() const;
    // Such an address without a scope: the kernel cannot tell which interface it means.
    bool lacks_scope() const { return is_link_local() && scope() == 0; }

    // How UCSPI writes the address, without port or scope: a dotted quad for
    // IPv4 and for an IPv4-mapped IPv6 address, RFC 5952 text for IPv6.
    std::string host() const;
    // How messages name it: "127.0.0.1 port 1", "fe80::1%eth0 port 22".
    std::string describe() const;

  private:
    sockaddr_storage storage_{};
};

// HOST is a numeric address: a dotted quad, or IPv6 text with an optional
// "%SCOPE" (an interface name or index). Anything else, a host name above
// all, is a usage error naming SUBJECT: names are never looked up. An
// interface name that does not exist is a lookup error (111).
InetAddress parse_inet_address(std::string_view subject, std::string_view host, std::uint16_t port);

// The usage error for a link-local HOST given without the interface it needs.
Failure scope_needed(std::string_view subject, std::string_view host);

// The index of the network interface NAME. A name the kernel would refuse is
// a usage error naming SUBJECT; an interface that does not exist, a lookup error.
unsigned interface_index(std::string_view subject, std::string_view name);

// A port: a C number 0..65535.
std::uint16_t parse_port(std::string_view subject, std::string_view text);

// The address a socket is bound to, or the one it is connected to. A failed
// call, or a socket that is not IPv4 or IPv6, is a failure naming the descriptor.
InetAddress local_inet_address(int socket_fd);
InetAddress remote_inet_address(int socket_fd);

} // namespace toolkit
