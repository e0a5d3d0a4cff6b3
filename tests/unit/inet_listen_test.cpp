#define BOOST_TEST_MODULE inet_listen
#include <boost/test/unit_test.hpp>

#include "inet_listen.hpp"
#include "support.hpp"

#include <sys/socket.h>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

Failure refusal(int type, std::initializer_list<std::string> words) {
    CommandSyntax syntax{"test-listen", "HOST PORT NEXT-PROG", "test", inet_listen_options(type)};
    Args args(words);
    return failure_of([&] {
        Invocation invocation(syntax, args.span());
        plan_inet_listen(invocation, type);
    });
}

bool has_option(int type, std::string_view name) {
    for (const OptionSpec& spec : inet_listen_options(type))
        if (spec.long_name == name) return true;
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(only_tcp_has_a_backlog) {
    BOOST_TEST(has_option(SOCK_STREAM, "backlog"));
    BOOST_TEST(!has_option(SOCK_DGRAM, "backlog"));
    for (int type : {SOCK_STREAM, SOCK_DGRAM})
        for (std::string_view name : {"ipv6-only", "reuse-port", "bind-to-device", "free-bind",
                                      "name", "systemd-compatibility", "notify-fd", "sd-notify"})
            BOOST_TEST(has_option(type, name), name);
}

BOOST_AUTO_TEST_CASE(what_is_refused_before_acting) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
        BOOST_TEST(refusal(type, {"t", "localhost", "53", "true"}).subject() == "HOST");
        BOOST_TEST(refusal(type, {"t", "127.0.0.1", "65536", "true"}).subject() == "PORT");
        BOOST_TEST(refusal(type, {"t", "--ipv6-only", "127.0.0.1", "53", "true"}).subject() ==
                   "--ipv6-only");
        BOOST_TEST(refusal(type, {"t", "--name", "x", "::", "53", "true"}).detail() ==
                   "needs --systemd-compatibility");
        BOOST_TEST(refusal(type, {"t", "::", "53"}).subject() == "NEXT-PROG");
    }
    BOOST_TEST(refusal(SOCK_DGRAM, {"t", "--backlog", "5", "::", "53", "true"}).detail() ==
               "unknown option");
}

BOOST_AUTO_TEST_CASE(a_good_command_line_is_planned) {
    CommandSyntax syntax{"test-listen", "HOST PORT NEXT-PROG", "test",
                         inet_listen_options(SOCK_DGRAM)};
    Args args({"t", "--reuse-port", "--sd-notify", "::", "0", "true"});
    Invocation invocation(syntax, args.span());
    BOOST_TEST(plan_inet_listen(invocation, SOCK_DGRAM) != nullptr);
}
