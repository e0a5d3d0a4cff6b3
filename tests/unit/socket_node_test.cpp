#define BOOST_TEST_MODULE socket_node
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket_node.hpp"
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

BOOST_AUTO_TEST_CASE(a_datagram_probe_finds_live_datagram_sockets_only) {
    TempDir dir;
    auto datagram = [](const LocalAddress& address) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.address),
                                  address.length) == 0);
        return fd;
    };
    LocalAddress live = make_local_address("PATH", dir.path + "/live");
    UniqueFd bound = datagram(live);
    BOOST_TEST(server_answers("PATH", live, SOCK_DGRAM));

    // Connected to a peer of its own, it refuses other senders (EPERM): still alive.
    LocalAddress peer = make_local_address("PATH", dir.path + "/peer");
    UniqueFd other = datagram(peer);
    LocalAddress talking = make_local_address("PATH", dir.path + "/talking");
    UniqueFd connected = datagram(talking);
    BOOST_TEST_REQUIRE(::connect(connected.get(), reinterpret_cast<const sockaddr*>(&peer.address),
                                 peer.length) == 0);
    BOOST_TEST(server_answers("PATH", talking, SOCK_DGRAM));

    LocalAddress stale = make_local_address("PATH", dir.path + "/stale");
    datagram(stale); // closed at once: the node stays, nobody is bound to it
    BOOST_TEST(!server_answers("PATH", stale, SOCK_DGRAM));

    // A live socket of another type is in use, whichever type asks.
    LocalAddress listening = make_local_address("PATH", dir.path + "/listening");
    UniqueFd server = bound_socket(listening, 5);
    BOOST_TEST(server_answers("PATH", listening, SOCK_DGRAM));
    BOOST_TEST(server_answers("PATH", live, SOCK_STREAM));
    BOOST_TEST(server_answers("PATH", live, SOCK_SEQPACKET));
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

namespace {

// bind(2) of a new stream socket at NODE's path: what the listen step does between its calls.
UniqueFd bind_at(const std::string& path) {
    return bound_socket(make_local_address("PATH", path), -1);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_node_made_and_undone) {
    TempDir dir;
    std::string path = dir.path + "/node";
    SocketNode node(path);
    node.remove_stale(make_local_address("PATH", path)); // nothing there: nothing to do
    UniqueFd socket = bind_at(path);
    node.record_bind(socket.get(), std::nullopt);
    node.set_owner_and_mode(static_cast<uid_t>(-1), ::getgid(), 01755);
    node.close_directory();
    struct stat st;
    BOOST_TEST_REQUIRE(::lstat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07000) == 01000u);
    std::string reason;
    BOOST_TEST(node.remove(reason));
    BOOST_TEST(::lstat(path.c_str(), &st) < 0);
}

BOOST_AUTO_TEST_CASE(a_stale_socket_is_removed_and_anything_else_refused) {
    TempDir dir;
    std::string path = dir.path + "/node";
    { UniqueFd gone = bind_at(path); } // closed: stale
    SocketNode(path).remove_stale(make_local_address("PATH", path));
    struct stat st;
    BOOST_TEST(::lstat(path.c_str(), &st) < 0);

    std::string file = dir.file("plain", "data", 0644);
    Failure refused =
        failure_of([&] { SocketNode(file).remove_stale(make_local_address("PATH", file)); });
    BOOST_TEST(refused.status() == exit_failure);
    BOOST_TEST(refused.detail() == "is a regular file, not a socket; left alone");
    BOOST_TEST(::lstat(file.c_str(), &st) == 0);

    std::string live = dir.path + "/live";
    UniqueFd server = bound_socket(make_local_address("PATH", live), 5);
    Failure busy =
        failure_of([&] { SocketNode(live).remove_stale(make_local_address("PATH", live)); });
    BOOST_TEST(busy.detail() == "in use by a running server");
}

BOOST_AUTO_TEST_CASE(the_undo_leaves_a_file_that_replaced_ours) {
    TempDir dir;
    std::string path = dir.path + "/node";
    SocketNode node(path);
    UniqueFd socket = bind_at(path);
    node.record_bind(socket.get(), std::nullopt);
    node.close_directory();
    BOOST_TEST_REQUIRE(::unlink(path.c_str()) == 0);
    UniqueFd other = bind_at(path); // someone else's socket now
    std::string reason;
    BOOST_TEST(node.remove(reason)); // nothing of ours is left
    struct stat st;
    BOOST_TEST(::lstat(path.c_str(), &st) == 0, "the other socket must stay");
}

BOOST_AUTO_TEST_CASE(the_undo_leaves_a_directory_that_replaced_the_first) {
    TempDir dir;
    std::string sub = dir.path + "/sub";
    BOOST_TEST_REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    std::string path = sub + "/node";
    SocketNode node(path);
    UniqueFd socket = bind_at(path);
    node.record_bind(socket.get(), std::nullopt);
    node.close_directory();
    BOOST_TEST_REQUIRE(::rename(sub.c_str(), (dir.path + "/moved").c_str()) == 0);
    BOOST_TEST_REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    UniqueFd other = bind_at(path);
    std::string reason;
    BOOST_TEST(!node.remove(reason)); // ours is left in the moved directory, and said so
    BOOST_TEST(reason == sub + " is no longer the directory it was made in");
    struct stat st;
    BOOST_TEST(::lstat(path.c_str(), &st) == 0);
    BOOST_TEST(::lstat((dir.path + "/moved/node").c_str(), &st) == 0);
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_named) {
    Failure missing = failure_of([] { SocketNode node("/nonexistent/dir/node"); });
    BOOST_TEST(missing.status() == exit_failure);
    BOOST_TEST(missing.subject() == "/nonexistent/dir/node");
}
