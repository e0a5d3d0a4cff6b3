#define BOOST_TEST_MODULE local_listen
#include <boost/test/unit_test.hpp>

#include "local_listen.hpp"
#include "support.hpp"

#include <sys/socket.h>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

const LocalListenKind stream{SOCK_STREAM, "test-listen"};
const LocalListenKind datagram{SOCK_DGRAM, "test-bind"};

Failure refusal(const LocalListenKind& kind, std::initializer_list<std::string> words) {
    CommandSyntax syntax{"test-listen", "PATH NEXT-PROG", "test", local_listen_options(kind.type)};
    Args args(words);
    return failure_of([&] {
        Invocation invocation(syntax, args.span());
        plan_local_listen(invocation, kind);
    });
}

bool has_option(int type, std::string_view name) {
    for (const OptionSpec& spec : local_listen_options(type))
        if (spec.long_name == name) return true;
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(only_listening_sockets_have_a_backlog) {
    BOOST_TEST(has_option(SOCK_STREAM, "backlog"));
    BOOST_TEST(has_option(SOCK_SEQPACKET, "backlog"));
    BOOST_TEST(!has_option(SOCK_DGRAM, "backlog"));
    for (int type : {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM})
        for (std::string_view name :
             {"mode", "uid", "gid", "user", "group", "systemd-compatibility", "name"})
            BOOST_TEST(has_option(type, name), name);
}

BOOST_AUTO_TEST_CASE(a_datagram_socket_takes_no_backlog) {
    Failure failure = refusal(datagram, {"test-bind", "--backlog", "5", "/tmp/x", "true"});
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.detail() == "unknown option");
}

BOOST_AUTO_TEST_CASE(what_is_refused_before_acting) {
    BOOST_TEST(refusal(stream, {"test-listen", "--uid", "1", "--user", "root", "/tmp/x", "true"})
                   .subject() == "--user");
    BOOST_TEST(refusal(stream, {"test-listen", "--mode", "0600", "@abstract", "true"}).subject() ==
               "--mode");
    BOOST_TEST(refusal(datagram, {"test-bind", "--name", "x", "/tmp/x", "true"}).detail() ==
               "needs --systemd-compatibility");
    BOOST_TEST(refusal(stream, {"test-listen", "/tmp/", "true"}).status() == exit_usage);
    BOOST_TEST(refusal(stream, {"test-listen", "/tmp/x"}).subject() == "NEXT-PROG");
}

BOOST_AUTO_TEST_CASE(a_good_command_line_is_planned) {
    CommandSyntax syntax{"test-listen", "PATH NEXT-PROG", "test", local_listen_options(SOCK_DGRAM)};
    Args args({"test-bind", "--mode", "0600", "/tmp/x", "true"});
    Invocation invocation(syntax, args.span());
    BOOST_TEST(plan_local_listen(invocation, datagram) != nullptr);
}
