#define BOOST_TEST_MODULE client
#include <boost/test/unit_test.hpp>

#include "client.hpp"

#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace toolkit;

namespace {

ino_t inode_of(int fd) {
    struct stat status;
    BOOST_TEST_REQUIRE(::fstat(fd, &status) == 0);
    return status.st_ino;
}

bool close_on_exec(int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

sockaddr_in loopback(in_port_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = port;
    return address;
}

} // namespace

BOOST_AUTO_TEST_CASE(connection_on_6_and_7) {
    for (int start : {-1, 6, 7}) {
        BOOST_TEST_CONTEXT("socket on " << start) {
            int pair[2];
            BOOST_TEST_REQUIRE(
                ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) == 0);
            int fd = pair[0];
            if (start >= 0) {
                BOOST_TEST_REQUIRE(::dup3(pair[0], start, O_CLOEXEC) == start);
                ::close(pair[0]);
                fd = start;
            }
            ino_t socket = inode_of(fd);
            hand_over_connection(UniqueFd(fd));
            for (int client : {6, 7}) {
                BOOST_TEST(inode_of(client) == socket);
                BOOST_TEST(!close_on_exec(client));
                BOOST_TEST((::fcntl(client, F_GETFL) & O_NONBLOCK) == 0);
            }
            if (start < 0) BOOST_TEST(::fcntl(fd, F_GETFD) < 0); // closed
            BOOST_TEST(::write(7, "x", 1) == 1);
            char c;
            BOOST_TEST(::read(pair[1], &c, 1) == 1);
            ::close(pair[1]);
            ::close(6);
            ::close(7);
        }
    }
}

BOOST_AUTO_TEST_CASE(connecting_within_a_time) {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = loopback(0);
    BOOST_TEST_REQUIRE(
        ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    BOOST_TEST_REQUIRE(
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);

    // Bound but not listening: the port refuses connections.
    UniqueFd refused(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    BOOST_TEST(connect_within(refused.get(), reinterpret_cast<sockaddr*>(&address), length, 5000) ==
               ECONNREFUSED);

    BOOST_TEST_REQUIRE(::listen(listener.get(), 1) == 0);
    for (int timeout : {5000, -1}) {
        UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        BOOST_TEST(connect_within(client.get(), reinterpret_cast<sockaddr*>(&address), length,
                                  timeout) == 0);
        UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        BOOST_TEST(accepted.get() >= 0);
    }
}
