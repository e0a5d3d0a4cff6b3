#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>

#include "applet.hpp"
#include "server.hpp"
#include "support.hpp"

#include <climits>

using namespace toolkit;
using toolkit::testing::Args;

namespace {

const OptionSpec options[] = {
    {"connection-limit", 'c', OptionKind::number, "N", "", 1, INT_MAX},
    {"connection-limit-per-source", 'C', OptionKind::number, "N", "", 1, INT_MAX},
    {"verbose", 'v', OptionKind::flag, "", ""},
    {"quiet", 'q', OptionKind::flag, "", ""},
};
const CommandSyntax syntax{"test-accept", "NEXT-PROG", "test", options};

ServerSettings settings_of(std::initializer_list<std::string> words) {
    Args args(words);
    Invocation invocation(syntax, args.span());
    return read_server_settings(invocation.options(), "connection-limit-per-source");
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults) {
    ServerSettings settings = settings_of({"test-accept", "prog"});
    BOOST_TEST(settings.limit == 40);
    BOOST_TEST(settings.per_source_limit == 0);
    BOOST_TEST(!settings.verbose);
    BOOST_TEST(!settings.quiet);
}

BOOST_AUTO_TEST_CASE(every_option_is_read) {
    ServerSettings settings = settings_of({"test-accept", "-c", "7", "-C3", "-vq", "prog"});
    BOOST_TEST(settings.limit == 7);
    BOOST_TEST(settings.per_source_limit == 3);
    BOOST_TEST(settings.verbose);
    BOOST_TEST(settings.quiet);
}

BOOST_AUTO_TEST_CASE(log_fields_cannot_forge_a_line_or_shift_fields) {
    BOOST_TEST(log_field("") == "-");
    BOOST_TEST(log_field("-") == "\\x2d");
    BOOST_TEST(log_field("/run/a.sock") == "/run/a.sock");
    BOOST_TEST(log_field("a b") == "a\\x20b");
    BOOST_TEST(log_field("x\nfake: 1 started") == "x\\nfake:\\x201\\x20started");
    BOOST_TEST(log_field("\t\r\\") == "\\t\\r\\\\");
    BOOST_TEST(log_field(std::string_view("@a\0b", 4)) == "@a\\x00b");
    BOOST_TEST(log_field("\x7f\xff") == "\\x7f\\xff");
}

BOOST_AUTO_TEST_CASE(source_keys_compare_by_value) {
    SourceKey a, b;
    BOOST_TEST((a == b));
    b.bytes[15] = 1;
    BOOST_TEST(!(a == b));
}
