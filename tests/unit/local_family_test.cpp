#define BOOST_TEST_MODULE local_family
#include <boost/test/unit_test.hpp>

#include "fd.hpp"
#include "local_family.hpp"
#include "socket.hpp"
#include "support.hpp"

#include <cstring>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

std::string value_of(ConnectionVariables& variables, std::string_view name) {
    for (std::size_t i = 0; i < variables.count(); ++i) {
        std::string_view entry = variables.entry(i);
        if (entry.starts_with(name) && entry[name.size()] == '=')
            return std::string(entry.substr(name.size() + 1));
    }
    return "(unset)";
}

} // namespace

BOOST_AUTO_TEST_CASE(a_connection_is_described_by_the_kernel_s_credentials) {
    for (int type : {SOCK_STREAM, SOCK_SEQPACKET}) {
        TempDir dir;
        std::string path = dir.path + "/listener";
        LocalAddress address = make_local_address("PATH", path);
        UniqueFd listener(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        BOOST_TEST_REQUIRE(::bind(listener.get(),
                                  reinterpret_cast<const sockaddr*>(&address.address),
                                  address.length) == 0);
        BOOST_TEST_REQUIRE(::listen(listener.get(), 5) == 0);
        LocalFamily family(type, std::nullopt);
        BOOST_TEST(family.socket_type() == type);
        family.add_listener(listener.get());

        UniqueFd client(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        BOOST_TEST_REQUIRE(::connect(client.get(),
                                     reinterpret_cast<const sockaddr*>(&address.address),
                                     address.length) == 0);
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        UniqueFd accepted(
            ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC));
        BOOST_TEST_REQUIRE(static_cast<bool>(accepted));
        Connection connection;
        BOOST_TEST_REQUIRE(family.describe(0, accepted.get(), peer, length, true, connection));
        BOOST_TEST(value_of(connection.variables, "UNIXLOCALPATH") == path);
        BOOST_TEST(value_of(connection.variables, "UNIXREMOTEPATH") == "(unset)");
        BOOST_TEST(value_of(connection.variables, "UNIXREMOTEPID") == std::to_string(::getpid()));
        BOOST_TEST(value_of(connection.variables, "UNIXREMOTEEUID") == std::to_string(::geteuid()));
        BOOST_TEST(value_of(connection.variables, "UNIXREMOTEEGID") == std::to_string(::getegid()));
        BOOST_TEST(family.source_name(connection) == "uid " + std::to_string(::geteuid()));
        BOOST_TEST(connection.log == path + " - " + std::to_string(::getpid()) + " " +
                                         std::to_string(::geteuid()) + " " +
                                         std::to_string(::getegid()));
    }
}

BOOST_AUTO_TEST_CASE(localname_replaces_every_listener_s_name) {
    LocalFamily family(SOCK_STREAM, std::string("/the/name"));
    family.add_listener(-1); // not asked: the name is given
    BOOST_TEST(family.type_name() == "a stream socket");
    BOOST_TEST(LocalFamily(SOCK_SEQPACKET, std::nullopt).type_name() == "a SOCK_SEQPACKET socket");
}
