#define BOOST_TEST_MODULE applet
#include <boost/test/unit_test.hpp>

#include "applet.hpp"
#include "diagnostics.hpp"

#include "support.hpp"
#include <climits>
#include <initializer_list>
#include <string>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

const OptionSpec test_options[] = {
    {"copy", 'c', OptionKind::flag, "", "copy"},
    {"name", 'n', OptionKind::text, "NAME", "a name"},
};
const CommandSyntax syntax{"test-applet", "TO FROM NEXT-PROG [ARGS...]", "For the tests.",
                           test_options};

} // namespace

BOOST_AUTO_TEST_CASE(options_then_operands_then_the_next_program) {
    Args args{"test-applet", "-c", "--name", "x", "5", "007", "prog", "-c", "arg"};
    Invocation invocation(syntax, args.span());
    BOOST_TEST(invocation.options().has("copy"));
    BOOST_TEST(invocation.options().text("name").value_or("") == "x");
    BOOST_TEST(invocation.fd_operand("TO") == 5);
    BOOST_TEST(invocation.fd_operand("FROM") == 7);
    BOOST_TEST(invocation.next_program() == 6u);
    BOOST_TEST(invocation.next_program() == 6u); // asking again consumes nothing
}

BOOST_AUTO_TEST_CASE(operands_without_options) {
    Args args{"test-applet", "account", "prog"};
    Invocation invocation(syntax, args.span());
    BOOST_TEST(!invocation.options().has("copy"));
    BOOST_TEST(invocation.operand("ACCOUNT") == "account");
    BOOST_TEST(invocation.next_program() == 2u);
}

BOOST_AUTO_TEST_CASE(operands_after_double_dash_may_look_like_options) {
    Args args{"test-applet", "--", "-5", "--copy", "prog"};
    Invocation invocation(syntax, args.span());
    BOOST_TEST(!invocation.options().has("copy"));
    BOOST_TEST(invocation.operand("FIRST") == "-5");
    BOOST_TEST(invocation.operand("SECOND") == "--copy");
    BOOST_TEST(invocation.next_program() == 4u);
}

BOOST_AUTO_TEST_CASE(a_missing_operand_is_named) {
    Args args{"test-applet", "-c"};
    Invocation invocation(syntax, args.span());
    Failure failure = failure_of([&] { invocation.operand("ACCOUNT"); });
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.subject() == "ACCOUNT");
    BOOST_TEST(failure.detail() == "missing operand");

    Args one{"test-applet", "5"};
    Invocation partial(syntax, one.span());
    BOOST_TEST(partial.fd_operand("TO") == 5);
    Failure from = failure_of([&] { partial.fd_operand("FROM"); });
    BOOST_TEST(from.status() == exit_usage);
    BOOST_TEST(from.subject() == "FROM");
}

BOOST_AUTO_TEST_CASE(a_bad_descriptor_operand_is_named) {
    for (std::string bad : {"x", "-1", "2147483648", "1 ", "0x", "09"}) {
        Args args{"test-applet", "1", bad, "prog"};
        Invocation invocation(syntax, args.span());
        invocation.fd_operand("TO");
        Failure failure = failure_of([&] { invocation.fd_operand("FROM"); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "FROM");
        BOOST_TEST(failure.detail().find(bad) != std::string::npos);
    }
    Args args{"test-applet", "2147483647", "0x10", "prog"};
    Invocation invocation(syntax, args.span());
    BOOST_TEST(invocation.fd_operand("TO") == INT_MAX);
    BOOST_TEST(invocation.fd_operand("FROM") == 16);
}

BOOST_AUTO_TEST_CASE(a_missing_next_program_is_a_usage_error) {
    Args args{"test-applet", "1", "2"};
    Invocation invocation(syntax, args.span());
    invocation.fd_operand("TO");
    invocation.fd_operand("FROM");
    Failure failure = failure_of([&] { invocation.next_program(); });
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.subject() == "NEXT-PROG");

    Args nothing{"test-applet"};
    Invocation empty(syntax, nothing.span());
    BOOST_TEST(failure_of([&] { empty.next_program(); }).status() == exit_usage);

    Args only_options{"test-applet", "-c", "--"};
    Invocation dashes(syntax, only_options.span());
    BOOST_TEST(failure_of([&] { dashes.next_program(); }).subject() == "NEXT-PROG");
}

BOOST_AUTO_TEST_CASE(option_errors_surface_from_the_constructor) {
    Args args{"test-applet", "--bogus", "1", "2", "prog"};
    Failure failure = failure_of([&] { Invocation invocation(syntax, args.span()); });
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.subject().find("bogus") != std::string::npos);
}
