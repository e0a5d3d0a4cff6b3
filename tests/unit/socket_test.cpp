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
        return describe_local_address(address,
                                      static_cast<socklen_t>(header + 1 + bytes.size()));
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

namespace {

// A socket of ours bound to ADDRESS, listening when BACKLOG is not negative.
UniqueFd bound_socket(const LocalAddress& address, int backlog) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(static_cast<bool>(fd));
    BOOST_TEST_REQUIRE(
        ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.address), address.length) == 0);
    if (backlog >= 0) BOOST_TEST_REQUIRE(::listen(fd.get(), backlog) == 0);
    return fd;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_inode_a_socket_was_bound_to) {
    TempDir dir;
    std::string path = dir.path + "/s";
    UniqueFd fd = bound_socket(make_local_address("PATH", path), 1);
    auto inode = bound_node_inode(fd.get());
    if (!inode) {
        BOOST_TEST_MESSAGE("the kernel has no unix socket diagnostics: nothing to compare");
        return;
    }
    struct stat node;
    BOOST_TEST_REQUIRE(::lstat(path.c_str(), &node) == 0);
    BOOST_TEST(*inode == static_cast<std::uint32_t>(node.st_ino));

    // Renamed, the node is still the one the socket is bound to; a new file at
    // the old path is not.
    std::string moved = dir.path + "/moved";
    BOOST_TEST_REQUIRE(::rename(path.c_str(), moved.c_str()) == 0);
    UniqueFd impostor = bound_socket(make_local_address("PATH", path), 1);
    struct stat other;
    BOOST_TEST_REQUIRE(::lstat(path.c_str(), &other) == 0);
    BOOST_TEST(bound_node_inode(fd.get()).value_or(0) == static_cast<std::uint32_t>(node.st_ino));
    BOOST_TEST(bound_node_inode(impostor.get()).value_or(0) ==
               static_cast<std::uint32_t>(other.st_ino));
}

BOOST_AUTO_TEST_CASE(no_inode_without_a_node) {
    UniqueFd unbound(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST(!bound_node_inode(unbound.get()).has_value());
    UniqueFd hidden = bound_socket(
        make_local_address("PATH", "@toolkit-socket-test-inode-" + std::to_string(::getpid())), 1);
    BOOST_TEST(!bound_node_inode(hidden.get()).has_value());
    BOOST_TEST(!bound_node_inode(-1).has_value());
    UniqueFd closed(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int number = closed.get();
    closed.reset();
    BOOST_TEST(!bound_node_inode(number).has_value());
}

BOOST_AUTO_TEST_CASE(a_listening_server_answers) {
    TempDir dir;
    for (std::string name :
         {dir.path + "/s", "@toolkit-socket-test-answer-" + std::to_string(::getpid())}) {
        BOOST_TEST_CONTEXT("name " << name) {
            LocalAddress address = make_local_address("PATH", name);
            UniqueFd server = bound_socket(address, 5);
            BOOST_TEST(server_answers("PATH", address));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_server_with_a_full_backlog_still_answers) {
    TempDir dir;
    LocalAddress address = make_local_address("PATH", dir.path + "/s");
    UniqueFd server = bound_socket(address, 0);
    std::vector<UniqueFd> clients;
    bool full = false;
    for (int i = 0; i < 64 && !full; ++i) {
        UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        int rc = ::connect(client.get(), reinterpret_cast<const sockaddr*>(&address.address),
                           address.length);
        full = rc < 0 && errno == EAGAIN;
        clients.push_back(std::move(client));
    }
    BOOST_TEST_REQUIRE(full);
    BOOST_TEST(server_answers("PATH", address));
}

BOOST_AUTO_TEST_CASE(a_stale_or_silent_socket_does_not_answer) {
    TempDir dir;
    LocalAddress stale = make_local_address("PATH", dir.path + "/stale");
    bound_socket(stale, 5); // closed at once: the node stays, nobody listens
    BOOST_TEST(!server_answers("PATH", stale));

    LocalAddress silent = make_local_address("PATH", dir.path + "/silent");
    UniqueFd not_listening = bound_socket(silent, -1);
    BOOST_TEST(!server_answers("PATH", silent));

    LocalAddress nobody =
        make_local_address("PATH", "@toolkit-socket-test-nobody-" + std::to_string(::getpid()));
    BOOST_TEST(!server_answers("PATH", nobody));
}

BOOST_AUTO_TEST_CASE(other_connect_errors_name_the_subject) {
    TempDir dir;
    LocalAddress missing = make_local_address("PATH", dir.path + "/missing");
    Failure failure = failure_of([&] { server_answers("/run/where", missing); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "/run/where");
    BOOST_TEST(failure.detail() == std::strerror(ENOENT));
}

BOOST_AUTO_TEST_CASE(a_socket_path_splits_at_its_last_slash) {
    auto parts = split_socket_path("PATH", "/run/app/socket");
    BOOST_TEST(parts.directory == "/run/app");
    BOOST_TEST(parts.leaf == "socket");
    parts = split_socket_path("PATH", "socket");
    BOOST_TEST(parts.directory == ".");
    BOOST_TEST(parts.leaf == "socket");
    parts = split_socket_path("PATH", "/socket");
    BOOST_TEST(parts.directory == "/");
    BOOST_TEST(parts.leaf == "socket");
    parts = split_socket_path("PATH", "run//socket");
    BOOST_TEST(parts.directory == "run/");
    BOOST_TEST(parts.leaf == "socket");
}

BOOST_AUTO_TEST_CASE(a_socket_path_must_end_in_a_file_name) {
    for (const char* path : {"/run/app/", "/", "/run/.", "run/..", ".", ".."}) {
        Failure failure = failure_of([&] { split_socket_path("PATH", path); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "PATH");
        BOOST_TEST(failure.detail() ==
                   "socket path " + std::string(path) + " does not end in a file name");
    }
}

// A handle on a socket file, as the listener holds one while probing.
UniqueFd node_handle(const std::string& path) {
    UniqueFd handle(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    BOOST_TEST_REQUIRE(static_cast<bool>(handle));
    return handle;
}

BOOST_AUTO_TEST_CASE(the_node_a_handle_holds_is_probed) {
    TempDir dir;
    LocalAddress live = make_local_address("PATH", dir.path + "/live");
    UniqueFd server = bound_socket(live, 5);
    UniqueFd handle = node_handle(dir.path + "/live");
    // The file is renamed away and a stale socket takes its name: the handle still
    // reaches the live server, and the fallback path is not asked.
    BOOST_TEST_REQUIRE(::rename((dir.path + "/live").c_str(), (dir.path + "/moved").c_str()) == 0);
    bound_socket(live, 5);
    BOOST_TEST(node_server_answers("PATH", handle.get(), live));
    BOOST_TEST(!server_answers("PATH", live));

    LocalAddress stale = make_local_address("PATH", dir.path + "/stale");
    bound_socket(stale, 5);
    UniqueFd stale_handle = node_handle(dir.path + "/stale");
    BOOST_TEST(!node_server_answers("PATH", stale_handle.get(), live));
}
