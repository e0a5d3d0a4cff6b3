#define BOOST_TEST_MODULE inet
#include <boost/test/unit_test.hpp>

#include "fd.hpp"
#include "inet.hpp"
#include "support.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <string>
#include <sys/socket.h>

using namespace toolkit;
using toolkit::testing::failure_of;

namespace {

std::string host_of(const std::string& text) {
    return parse_inet_address("HOST", text, 0).host();
}

Failure refusal(const std::string& text) {
    return failure_of([&] { parse_inet_address("HOST", text, 0); });
}

} // namespace

BOOST_AUTO_TEST_CASE(ipv4) {
    InetAddress address = parse_inet_address("HOST", "1.2.3.4", 80);
    BOOST_TEST(address.family() == AF_INET);
    BOOST_TEST(address.length() == sizeof(sockaddr_in));
    BOOST_TEST(address.host() == "1.2.3.4");
    BOOST_TEST(address.port() == 80);
    BOOST_TEST(address.scope() == 0u);
    BOOST_TEST(address.describe() == "1.2.3.4 port 80");
    BOOST_TEST(!address.is_wildcard());
    BOOST_TEST(parse_inet_address("HOST", "0.0.0.0", 0).is_wildcard());
    BOOST_TEST(host_of("255.255.255.255") == "255.255.255.255");
}

BOOST_AUTO_TEST_CASE(ipv6) {
    InetAddress address = parse_inet_address("HOST", "::1", 65535);
    BOOST_TEST(address.family() == AF_INET6);
    BOOST_TEST(address.length() == sizeof(sockaddr_in6));
    BOOST_TEST(address.host() == "::1");
    BOOST_TEST(address.describe() == "::1 port 65535");
    InetAddress any = parse_inet_address("HOST", "::", 0);
    BOOST_TEST(any.is_wildcard());
    BOOST_TEST(any.host() == "::");
}

BOOST_AUTO_TEST_CASE(ipv4_mapped_is_written_as_ipv4) {
    InetAddress mapped = parse_inet_address("HOST", "::ffff:1.2.3.4", 7);
    BOOST_TEST(mapped.family() == AF_INET6);
    BOOST_TEST(mapped.host() == "1.2.3.4");
    BOOST_TEST(mapped.describe() == "1.2.3.4 port 7");
    BOOST_TEST(host_of("::FFFF:7f00:1") == "127.0.0.1");
    // The kernel binds it as 0.0.0.0: every IPv4 address.
    BOOST_TEST(parse_inet_address("HOST", "::ffff:0.0.0.0", 0).is_wildcard());
    BOOST_TEST(!parse_inet_address("HOST", "::ffff:0.0.0.1", 0).is_wildcard());
}

// RFC 5952: lower case, no leading zeros, the longest run of two or more zero
// fields as "::" (the first of equal runs), a single zero field kept.
BOOST_AUTO_TEST_CASE(rfc_5952_text) {
    BOOST_TEST(host_of("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");
    BOOST_TEST(host_of("2001:DB8::1") == "2001:db8::1");
    BOOST_TEST(host_of("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");
    BOOST_TEST(host_of("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");
    BOOST_TEST(host_of("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");
    BOOST_TEST(host_of("2001:db8::") == "2001:db8::");
    BOOST_TEST(host_of("0:0:0:0:0:0:0:0") == "::");
    BOOST_TEST(host_of("fe80:0:0:0:0200:5eff:fe00:5301") == "fe80::200:5eff:fe00:5301");
}

BOOST_AUTO_TEST_CASE(scope_by_name_or_number) {
    unsigned lo = ::if_nametoindex("lo");
    BOOST_TEST_REQUIRE(lo != 0u);
    InetAddress named = parse_inet_address("HOST", "fe80::1%lo", 22);
    BOOST_TEST(named.scope() == lo);
    BOOST_TEST(named.host() == "fe80::1");
    BOOST_TEST(named.describe() == "fe80::1%lo port 22");
    BOOST_TEST(parse_inet_address("HOST", "fe80::1%" + std::to_string(lo), 0).scope() == lo);
    // An index no interface has is written as the number.
    BOOST_TEST(parse_inet_address("HOST", "fe80::1%4000000000", 1).describe() ==
               "fe80::1%4000000000 port 1");
}

BOOST_AUTO_TEST_CASE(host_names_are_refused_and_say_why) {
    for (std::string name : {"localhost", "example.com", "ip6-localhost", "a1"}) {
        BOOST_TEST_CONTEXT(name) {
            Failure failure = refusal(name);
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.subject() == "HOST");
            BOOST_TEST(failure.detail().find(name + " is a host name") != std::string::npos);
            BOOST_TEST(failure.detail().find("numeric address") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_addresses_are_usage_errors) {
    for (std::string text : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                             "1.2.3.4/8", "4294967295", ":::", "1::2::3", "[::1]", "::1/128",
                             "12345::", "1.2.3.4%1", "::1%", "fe80::1%x y", "::1%4294967296"}) {
        BOOST_TEST_CONTEXT("'" << text << "'") {
            Failure failure = refusal(text);
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.detail().find("host name") == std::string::npos);
        }
    }
    BOOST_TEST(refusal("").detail() == "empty address");
    BOOST_TEST(refusal("::1%").detail() == "empty scope after '%'");
    // Digits only make an index; "0x" (or "9net") is an interface name, looked up.
    BOOST_TEST(refusal("::1%4294967296").detail() == "interface index out of range: 4294967296");
    BOOST_TEST(refusal("::1%0x").status() == exit_failure);
    BOOST_TEST(refusal("::1%0x").detail() == "no network interface 0x");
    BOOST_TEST(refusal("1.2.3").detail() == "not a numeric IPv4 or IPv6 address: 1.2.3");
    BOOST_TEST(refusal("1::2::3").detail() == "not a numeric IPv6 address: 1::2::3");
    BOOST_TEST(refusal("0").detail() ==
               "0 is not an address: write 0.0.0.0 for every IPv4 address, :: for IPv4 and IPv6");
    BOOST_TEST(refusal("fe80::1%4294967296").detail().find("out of range") != std::string::npos);
    BOOST_TEST(refusal("fe80::1%abcdefghijklmnopq").detail().find("not an interface name") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_interface_is_a_lookup_failure) {
    Failure failure = refusal("fe80::1%no-such-if0");
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "HOST");
    BOOST_TEST(failure.detail() == "no network interface no-such-if0");
}

BOOST_AUTO_TEST_CASE(interfaces_by_name) {
    BOOST_TEST(interface_index("IFACE", "lo") == ::if_nametoindex("lo"));
    for (std::string name : {"", "abcdefghijklmnop", "a/b", "a b", "a:1"}) {
        BOOST_TEST_CONTEXT("'" << name << "'") {
            Failure failure = failure_of([&] { interface_index("IFACE", name); });
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.detail() == "not an interface name: " + name);
        }
    }
    Failure missing = failure_of([] { interface_index("IFACE", "nosuch0"); });
    BOOST_TEST(missing.status() == exit_failure);
    BOOST_TEST(missing.detail() == "no network interface nosuch0");
}

BOOST_AUTO_TEST_CASE(ports_are_c_numbers) {
    BOOST_TEST(parse_port("PORT", "0") == 0);
    BOOST_TEST(parse_port("PORT", "65535") == 65535);
    BOOST_TEST(parse_port("PORT", "0x50") == 80);
    BOOST_TEST(parse_port("PORT", "010") == 8);
    for (std::string text : {"65536", "0x10000", "http", "-1", "+1", " 1", "1 ", "", "22/tcp"}) {
        BOOST_TEST_CONTEXT("'" << text << "'") {
            Failure failure = failure_of([&] { parse_port("PORT", text); });
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.subject() == "PORT");
        }
    }
}

BOOST_AUTO_TEST_CASE(addresses_of_a_socket) {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(listener.get() >= 0);
    InetAddress wanted = parse_inet_address("HOST", "127.0.0.1", 0);
    BOOST_TEST_REQUIRE(::bind(listener.get(), wanted.get(), wanted.length()) == 0);
    BOOST_TEST_REQUIRE(::listen(listener.get(), 1) == 0);
    InetAddress bound = local_inet_address(listener.get());
    BOOST_TEST(bound.host() == "127.0.0.1");
    BOOST_TEST(bound.port() != 0);

    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(::connect(client.get(), bound.get(), bound.length()) == 0);
    BOOST_TEST(remote_inet_address(client.get()).describe() == bound.describe());
    BOOST_TEST(local_inet_address(client.get()).host() == "127.0.0.1");

    Failure unconnected = failure_of([&] { remote_inet_address(listener.get()); });
    BOOST_TEST(unconnected.status() == exit_failure);
    BOOST_TEST(unconnected.subject() == descriptor_name(listener.get()));

    UniqueFd local(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    Failure unix_socket = failure_of([&] { local_inet_address(local.get()); });
    BOOST_TEST(unix_socket.detail() == "is not an IPv4 or IPv6 socket");
}

BOOST_AUTO_TEST_CASE(link_local_without_scope_and_v4_mapped) {
    auto parsed = [](const char* text) { return parse_inet_address("HOST", text, 0); };
    for (const char* text : {"fe80::1", "febf::1", "ff02::1", "ff01::1"})
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(parsed(text).lacks_scope());
        }
    for (const char* text : {"fe80::1%1", "fec0::1", "ff05::1", "::1", "2001:db8::1", "127.0.0.1"})
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(!parsed(text).lacks_scope());
        }
    BOOST_TEST(parsed("::ffff:127.0.0.1").is_v4_mapped());
    BOOST_TEST(!parsed("127.0.0.1").is_v4_mapped());
    BOOST_TEST(!parsed("::1").is_v4_mapped());
    Failure failure = scope_needed("HOST", "fe80::1");
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.detail() ==
               "fe80::1 is link-local: give its interface (such as fe80::1%eth0)");
}
