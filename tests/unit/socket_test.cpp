#define BOOST_TEST_MODULE socket
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket.hpp"
#include "support.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

constexpr socklen_t header = offsetof(sockaddr_un, sun_path);

// What the kernel says the socket bound to ADDRESS is called.
std::string bound_name(const LocalAddress& address) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(static_cast<bool>(fd));
    BOOST_TEST_REQUIRE(
        ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.address), address.length) == 0);
    sockaddr_un name{};
    socklen_t length = sizeof name;
    BOOST_TEST_REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&name), &length) == 0);
    return describe_local_address(name, length);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_path) {
    LocalAddress local = make_local_address("PATH", "/run/service.sock");
    BOOST_TEST(local.address.sun_family == AF_UNIX);
    BOOST_TEST(!local.abstract());
    BOOST_TEST(std::string(local.address.sun_path) == "/run/service.sock");
    BOOST_TEST(local.length == header + std::strlen("/run/service.sock") + 1);

    LocalAddress relative = make_local_address("PATH", "s");
    BOOST_TEST(!relative.abstract());
    BOOST_TEST(std::string(relative.address.sun_path) == "s");
}

BOOST_AUTO_TEST_CASE(an_abstract_name) {
    LocalAddress local = make_local_address("PATH", "@toolkit/test");
    BOOST_TEST(local.address.sun_family == AF_UNIX);
    BOOST_TEST(local.abstract());
    BOOST_TEST(local.address.sun_path[0] == '\0');
    BOOST_TEST(std::string(local.address.sun_path + 1, 12) == "toolkit/test");
    // No terminator: the length alone says where the name ends.
    BOOST_TEST(local.length == header + 13);
}

BOOST_AUTO_TEST_CASE(the_longest_names_fit) {
    BOOST_TEST(max_local_name == 107u);
    std::string path = "/" + std::string(106, 'p');
    LocalAddress local = make_local_address("PATH", path);
    BOOST_TEST(std::string(local.address.sun_path) == path);
    BOOST_TEST(local.length == sizeof(sockaddr_un));

    std::string abstract = "@" + std::string(106, 'a');
    LocalAddress hidden = make_local_address("PATH", abstract);
    BOOST_TEST(hidden.abstract());
    BOOST_TEST(describe_local_address(hidden.address, hidden.length) == abstract);
}

BOOST_AUTO_TEST_CASE(a_name_too_long_states_the_limit) {
    for (std::string name : std::vector<std::string>{
             "/" + std::string(107, 'p'), "@" + std::string(107, 'a'), std::string(4096, 'x')}) {
        Failure failure = failure_of([&] { make_local_address("PATH", name); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "PATH");
        BOOST_TEST(failure.detail().find("107") != std::string::npos);
        BOOST_TEST(failure.detail().find(std::to_string(name.size())) != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(empty_and_nul_names_are_refused) {
    for (std::string_view name :
         {std::string_view(""), std::string_view("@"), std::string_view("/a\0b", 4),
          std::string_view("@a\0b", 4), std::string_view("\0", 1)}) {
        Failure failure = failure_of([&] { make_local_address("--localname", name); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "--localname");
    }
}

BOOST_AUTO_TEST_CASE(describe_round_trip) {
    for (std::string name :
         std::vector<std::string>{"/run/a", "relative/b", "@abstract", "@with spaces and : colons",
                                  "/" + std::string(106, 'z'), "@" + std::string(106, 'y')}) {
        LocalAddress local = make_local_address("PATH", name);
        BOOST_TEST(describe_local_address(local.address, local.length) == name);
    }
}

// An abstract name may hold any byte; its UCSPI form must hold no NUL (an
// environment entry would end there, naming another socket) and must not
// let two addresses read the same.
BOOST_AUTO_TEST_CASE(describe_escapes_nul_and_backslash_in_abstract_names) {
    auto abstract = [](std::string_view bytes) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path + 1, bytes.data(), bytes.size());
        return describe_local_address(address, static_cast<socklen_t>(header + 1 + bytes.size()));
    };
    using namespace std::string_view_literals;
    BOOST_TEST(abstract("admin\0x"sv) == "@admin\\0x");
    BOOST_TEST(abstract("admin"sv) == "@admin");
    BOOST_TEST(abstract("\0\0"sv) == "@\\0\\0");
    BOOST_TEST(abstract("a\\0"sv) == "@a\\\\0"); // not the same as "a" NUL
    BOOST_TEST(abstract("a\\0"sv) != abstract("a\0"sv));
    BOOST_TEST(abstract("\\"sv) == "@\\\\");
    BOOST_TEST(abstract("tail\0"sv) == "@tail\\0");
    BOOST_TEST(abstract("a\0b"sv).find('\0') == std::string::npos);
    // Other bytes stay as they are; paths are never escaped (they hold no NUL).
    BOOST_TEST(abstract("a\nb"sv) == "@a\nb");
    LocalAddress path = make_local_address("PATH", "/tmp/back\\slash");
    BOOST_TEST(describe_local_address(path.address, path.length) == "/tmp/back\\slash");
}

BOOST_AUTO_TEST_CASE(describe_unnamed_and_odd_addresses) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    BOOST_TEST(describe_local_address(address, header) == "");
    BOOST_TEST(describe_local_address(address, 0) == "");
    // A kernel-given length that includes the terminator, or none at all.
    std::strcpy(address.sun_path, "/x");
    BOOST_TEST(describe_local_address(address, header + 3) == "/x");
    BOOST_TEST(describe_local_address(address, header + 2) == "/x");
    BOOST_TEST(describe_local_address(address, sizeof address) == "/x");
    // A path that fills sun_path with no terminator is read no further.
    std::memset(address.sun_path, 'q', sizeof address.sun_path);
    BOOST_TEST(describe_local_address(address, sizeof address) ==
               std::string(sizeof address.sun_path, 'q'));
    BOOST_TEST(describe_local_address(address, sizeof address + 10) ==
               std::string(sizeof address.sun_path, 'q'));
    // Not AF_UNIX at all.
    address.sun_family = AF_INET;
    BOOST_TEST(describe_local_address(address, sizeof address) == "");
}

BOOST_AUTO_TEST_CASE(the_kernel_agrees) {
    TempDir dir;
    std::string path = dir.path + "/s";
    BOOST_TEST(bound_name(make_local_address("PATH", path)) == path);
    std::string abstract = "@toolkit-socket-test-" + std::to_string(::getpid());
    BOOST_TEST(bound_name(make_local_address("PATH", abstract)) == abstract);
}
