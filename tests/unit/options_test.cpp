#define BOOST_TEST_MODULE options
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "options.hpp"

#include "support.hpp"
#include <algorithm>
#include <climits>
#include <initializer_list>
#include <string>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

const OptionSpec test_options[] = {
    {"copy", 'c', OptionKind::flag, "", "copy instead of moving"},
    {"verbose", 'v', OptionKind::flag, "", "say more"},
    {"backlog", 'b', OptionKind::number, "N", "listen backlog", 0, INT_MAX},
    {"mode", 'm', OptionKind::number, "MODE", "permission bits", 0, 07777, true},
    {"limit", 'l', OptionKind::number, "N", "at most N", 1, 10},
    {"name", 0, OptionKind::text, "NAME", "a name"},
    {"user", 'u', OptionKind::text, "USER", "an account"},
};

const CommandSyntax syntax{"test-applet", "OPERAND NEXT-PROG [ARGS...]", "An applet for the tests.",
                           test_options};

CommandLine parse(std::initializer_list<std::string> words) {
    Args args(words);
    return parse_command_line(syntax, args.span());
}

Failure failure_of(std::initializer_list<std::string> words) {
    try {
        parse(words);
    } catch (const Failure& failure) {
        return failure;
    }
    BOOST_FAIL("no failure was thrown");
    return Failure(0, "", "");
}

// A usage error whose subject contains CULPRIT.
void check_usage_error(std::initializer_list<std::string> words, std::string_view culprit) {
    Failure failure = failure_of(words);
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST_CONTEXT("subject \"" << failure.subject() << "\", detail \"" << failure.detail()
                                    << "\"") {
        BOOST_TEST(failure.subject().find(culprit) != std::string::npos);
    }
}

struct NameGuard {
    NameGuard() { set_program_name("test-applet"); }
    ~NameGuard() { set_program_name("toolkit"); }
};

} // namespace

BOOST_AUTO_TEST_CASE(no_options) {
    CommandLine line = parse({"test-applet", "5", "1", "prog"});
    BOOST_TEST(line.first_operand == 1u);
    BOOST_TEST(!line.options.has("copy"));
    BOOST_TEST(!line.options.number("backlog").has_value());

    BOOST_TEST(parse({"test-applet"}).first_operand == 1u);
}

BOOST_AUTO_TEST_CASE(first_word_not_an_option_is_the_fast_path) {
    // Everything after the first operand belongs to the next program, even
    // words that would be errors or --help here.
    CommandLine line = parse({"test-applet", "5", "--bogus", "--help", "-?", "--backlog=x"});
    BOOST_TEST(line.first_operand == 1u);
    BOOST_TEST(!line.options.has("backlog"));
    // A lone "-" and an empty word are operands, not options.
    BOOST_TEST(parse({"test-applet", "-", "-c"}).first_operand == 1u);
    BOOST_TEST(!parse({"test-applet", "-", "-c"}).options.has("copy"));
    BOOST_TEST(parse({"test-applet", "", "-c"}).first_operand == 1u);
    CommandLine dash = parse({"test-applet", "-c", "-", "-v"});
    BOOST_TEST(dash.first_operand == 2u);
    BOOST_TEST(dash.options.has("copy"));
    BOOST_TEST(!dash.options.has("verbose"));
}

BOOST_AUTO_TEST_CASE(stops_at_the_first_operand) {
    CommandLine line = parse({"test-applet", "-c", "5", "--backlog", "3", "-v", "--verbose"});
    BOOST_TEST(line.first_operand == 2u);
    BOOST_TEST(line.options.has("copy"));
    BOOST_TEST(!line.options.has("verbose"));
    BOOST_TEST(!line.options.has("backlog"));

    // Words after the operand that are not our options are no error either.
    CommandLine other = parse({"test-applet", "--copy", "prog", "--bogus", "-x", "--help"});
    BOOST_TEST(other.first_operand == 2u);
    BOOST_TEST(other.options.has("copy"));
}

BOOST_AUTO_TEST_CASE(double_dash_ends_options) {
    CommandLine line = parse({"test-applet", "-c", "--", "-v", "prog"});
    BOOST_TEST(line.first_operand == 3u);
    BOOST_TEST(line.options.has("copy"));
    BOOST_TEST(!line.options.has("verbose"));

    BOOST_TEST(parse({"test-applet", "--", "--help"}).first_operand == 2u);
    BOOST_TEST(parse({"test-applet", "--"}).first_operand == 2u);
    BOOST_TEST(parse({"test-applet", "--", "--"}).first_operand == 2u);
    // A value that happens to be "--" is not the end of options.
    CommandLine named = parse({"test-applet", "--name=--", "-v", "prog"});
    BOOST_TEST(named.options.text("name").value_or("") == "--");
    BOOST_TEST(named.options.has("verbose"));
    BOOST_TEST(named.first_operand == 3u);
}

BOOST_AUTO_TEST_CASE(clustered_flags) {
    for (std::string cluster : {"-cv", "-vc"}) {
        CommandLine line = parse({"test-applet", cluster, "prog"});
        BOOST_TEST(line.options.has("copy"));
        BOOST_TEST(line.options.has("verbose"));
        BOOST_TEST(line.first_operand == 2u);
    }
    CommandLine separate = parse({"test-applet", "-c", "-v", "prog"});
    BOOST_TEST(separate.options.has("copy"));
    BOOST_TEST(separate.options.has("verbose"));
    BOOST_TEST(separate.first_operand == 3u);
}

BOOST_AUTO_TEST_CASE(short_values_attached_or_apart) {
    CommandLine attached = parse({"test-applet", "-b10", "prog"});
    BOOST_TEST(attached.options.number("backlog").value_or(0) == 10u);
    BOOST_TEST(attached.first_operand == 2u);

    CommandLine apart = parse({"test-applet", "-b", "10", "prog"});
    BOOST_TEST(apart.options.number("backlog").value_or(0) == 10u);
    BOOST_TEST(apart.first_operand == 3u);

    // A flag cluster that ends in a value option.
    CommandLine cluster = parse({"test-applet", "-cvb10", "prog"});
    BOOST_TEST(cluster.options.has("copy"));
    BOOST_TEST(cluster.options.has("verbose"));
    BOOST_TEST(cluster.options.number("backlog").value_or(0) == 10u);
    BOOST_TEST(cluster.first_operand == 2u);

    CommandLine cluster_apart = parse({"test-applet", "-cb", "10", "prog"});
    BOOST_TEST(cluster_apart.options.has("copy"));
    BOOST_TEST(cluster_apart.options.number("backlog").value_or(0) == 10u);
    BOOST_TEST(cluster_apart.first_operand == 3u);

    // Whatever follows a value option in its word is its value, even letters of flags.
    CommandLine text = parse({"test-applet", "-ucv", "prog"});
    BOOST_TEST(text.options.text("user").value_or("") == "cv");
    BOOST_TEST(!text.options.has("copy"));
    BOOST_TEST(text.first_operand == 2u);
}

BOOST_AUTO_TEST_CASE(long_values_with_equals_or_apart) {
    CommandLine equals = parse({"test-applet", "--backlog=7", "prog"});
    BOOST_TEST(equals.options.number("backlog").value_or(0) == 7u);
    BOOST_TEST(equals.first_operand == 2u);

    CommandLine apart = parse({"test-applet", "--backlog", "7", "prog"});
    BOOST_TEST(apart.options.number("backlog").value_or(0) == 7u);
    BOOST_TEST(apart.first_operand == 3u);

    CommandLine text = parse({"test-applet", "--name", "a=b", "--user=x=y", "prog", "arg"});
    BOOST_TEST(text.options.text("name").value_or("") == "a=b");
    BOOST_TEST(text.options.text("user").value_or("") == "x=y");
    BOOST_TEST(text.first_operand == 4u);

    // A value that looks like an operand is still the value.
    CommandLine value = parse({"test-applet", "--user", "prog", "next"});
    BOOST_TEST(value.options.text("user").value_or("") == "prog");
    BOOST_TEST(value.first_operand == 3u);
}

BOOST_AUTO_TEST_CASE(a_value_option_at_the_end_needs_its_value) {
    check_usage_error({"test-applet", "--backlog"}, "backlog");
    check_usage_error({"test-applet", "-b"}, "b");
    check_usage_error({"test-applet", "-cb"}, "b");
    check_usage_error({"test-applet", "--name"}, "name");
    check_usage_error({"test-applet", "-c", "--user"}, "user");
}

BOOST_AUTO_TEST_CASE(a_flag_takes_no_value) {
    check_usage_error({"test-applet", "--copy=x", "prog"}, "copy");
    check_usage_error({"test-applet", "--verbose=", "prog"}, "verbose");
    Failure failure = failure_of({"test-applet", "--copy=yes", "prog"});
    BOOST_TEST(failure.detail().find("value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_options) {
    check_usage_error({"test-applet", "--bogus", "prog"}, "bogus");
    check_usage_error({"test-applet", "--bogus=1", "prog"}, "bogus");
    check_usage_error({"test-applet", "-x", "prog"}, "x");
    check_usage_error({"test-applet", "-cx", "prog"}, "x");
    check_usage_error({"test-applet", "-c", "--bogus", "prog"}, "bogus");
    check_usage_error({"test-applet", "--COPY", "prog"}, "COPY");
    Failure failure = failure_of({"test-applet", "--bogus", "prog"});
    BOOST_TEST(failure.detail().find("unknown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_prefix_guessing) {
    check_usage_error({"test-applet", "--back", "5", "prog"}, "back");
    check_usage_error({"test-applet", "--back=5", "prog"}, "back");
    check_usage_error({"test-applet", "--cop", "prog"}, "cop");
    check_usage_error({"test-applet", "--v", "prog"}, "v");
    check_usage_error({"test-applet", "--he", "prog"}, "he");
    check_usage_error({"test-applet", "--us", "prog"}, "us");
    check_usage_error({"test-applet", "--copyx", "prog"}, "copyx");
}

BOOST_AUTO_TEST_CASE(numbers_in_every_base) {
    BOOST_TEST(parse({"test-applet", "-b", "10", "p"}).options.number("backlog").value_or(0) ==
               10u);
    BOOST_TEST(parse({"test-applet", "-b", "010", "p"}).options.number("backlog").value_or(0) ==
               8u);
    BOOST_TEST(parse({"test-applet", "-b", "0x10", "p"}).options.number("backlog").value_or(0) ==
               16u);
    BOOST_TEST(parse({"test-applet", "-b0", "p"}).options.number("backlog").value_or(1) == 0u);
    BOOST_TEST(parse({"test-applet", "--mode=0660", "p"}).options.number("mode").value_or(0) ==
               0660u);
    BOOST_TEST(parse({"test-applet", "-m0x1b6", "p"}).options.number("mode").value_or(0) == 0x1b6u);
    // The value is kept as written, too.
    BOOST_TEST(parse({"test-applet", "-b", "0x10", "p"}).options.text("backlog").value_or("") ==
               "0x10");
}

BOOST_AUTO_TEST_CASE(bad_numbers_name_the_option) {
    for (std::string bad : {"x", "5x", "", "-1", "+1", " 5", "08", "0x", "1.5"}) {
        BOOST_TEST_CONTEXT("value \"" << bad << "\"") {
            if (!bad.empty()) check_usage_error({"test-applet", "-b", bad, "prog"}, "backlog");
            check_usage_error({"test-applet", "--backlog=" + bad, "prog"}, "backlog");
        }
    }
}

BOOST_AUTO_TEST_CASE(overflow_and_ranges) {
    check_usage_error({"test-applet", "-b", "18446744073709551616", "prog"}, "backlog");
    check_usage_error({"test-applet", "-b", "99999999999999999999999999", "prog"}, "backlog");
    check_usage_error({"test-applet", "-b", "2147483648", "prog"}, "backlog");
    BOOST_TEST(
        parse({"test-applet", "-b", "2147483647", "p"}).options.number("backlog").value_or(0) ==
        2147483647u);
    BOOST_TEST(parse({"test-applet", "-b", "0", "p"}).options.number("backlog").value_or(1) == 0u);

    check_usage_error({"test-applet", "--limit=0", "prog"}, "limit");
    check_usage_error({"test-applet", "--limit=11", "prog"}, "limit");
    check_usage_error({"test-applet", "-l", "013", "prog"}, "limit");
    BOOST_TEST(parse({"test-applet", "-l1", "p"}).options.number("limit").value_or(0) == 1u);
    BOOST_TEST(parse({"test-applet", "-l10", "p"}).options.number("limit").value_or(0) == 10u);
    BOOST_TEST(parse({"test-applet", "-l012", "p"}).options.number("limit").value_or(0) == 10u);

    check_usage_error({"test-applet", "--mode", "010000", "prog"}, "mode");
    BOOST_TEST(parse({"test-applet", "--mode", "07777", "p"}).options.number("mode").value_or(0) ==
               07777u);

    Failure failure = failure_of({"test-applet", "--limit=11", "prog"});
    BOOST_TEST(failure.detail().find("1..10") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_last_of_a_repeated_option_wins) {
    CommandLine line = parse({"test-applet", "-b", "1", "--backlog=2", "-b3", "prog"});
    BOOST_TEST(line.options.number("backlog").value_or(0) == 3u);
    CommandLine text = parse({"test-applet", "--name=a", "--name", "b", "prog"});
    BOOST_TEST(text.options.text("name").value_or("") == "b");
    BOOST_TEST(parse({"test-applet", "-c", "-c", "--copy", "prog"}).options.has("copy"));
    // A bad earlier value is still an error, even though a later one is fine.
    check_usage_error({"test-applet", "-b", "x", "-b", "1", "prog"}, "backlog");
}

BOOST_AUTO_TEST_CASE(help_usage_and_question_mark_print_on_stdout) {
    for (std::initializer_list<std::string> words :
         {std::initializer_list<std::string>{"test-applet", "--help"},
          {"test-applet", "--usage"},
          {"test-applet", "-?"},
          {"test-applet", "-c", "--help", "prog"},
          {"test-applet", "-c?"},
          {"test-applet", "--help", "--bogus"}}) {
        BOOST_TEST_CONTEXT("arguments " << *(words.begin() + 1)) {
            int status = -1;
            std::string stderr_text;
            std::string out = joined(capture_writes(STDOUT_FILENO, [&] {
                stderr_text = joined(capture_stderr([&] {
                    try {
                        parse(words);
                    } catch (const EarlyExit& early) {
                        status = early.status;
                    }
                }));
            }));
            BOOST_TEST(status == 0);
            BOOST_TEST(out == usage_text(syntax));
            BOOST_TEST(stderr_text == "");
        }
    }
}

BOOST_AUTO_TEST_CASE(help_and_usage_take_no_value) {
    for (const char* word : {"--help=x", "--usage="}) {
        BOOST_TEST_CONTEXT(word) {
            Failure failure = failure_of([&] { parse({"test-applet", word}); });
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.detail() == "takes no value");
        }
    }
}

BOOST_AUTO_TEST_CASE(usage_text_lists_every_option) {
    std::string text = usage_text(syntax);
    BOOST_TEST(text.starts_with("Usage: test-applet [OPTIONS] OPERAND NEXT-PROG [ARGS...]\n"));
    BOOST_TEST(text.find("An applet for the tests.") != std::string::npos);
    for (std::string_view expected :
         {"-c, --copy", "-v, --verbose", "-b, --backlog N", "-m, --mode MODE", "-l, --limit N",
          "--name NAME", "-u, --user USER", "listen backlog", "-?, --help, --usage"})
        BOOST_TEST(text.find(expected) != std::string::npos, "usage lacks \"" << expected << "\"");

    const CommandSyntax bare{"bare", "NEXT-PROG", "Nothing to set.", {}};
    BOOST_TEST(usage_text(bare).starts_with("Usage: bare NEXT-PROG\n"));
}

BOOST_AUTO_TEST_CASE(decimal_where_octal_is_expected_warns) {
    NameGuard guard;
    CommandLine line;
    std::string warning = joined(capture_stderr([&] {
        line = parse({"test-applet", "--mode", "660", "p"});
    }));
    BOOST_TEST(line.options.number("mode").value_or(0) == 660u);
    BOOST_TEST(
        warning.starts_with("test-applet: WARNING: --mode: 660 is decimal (01224 in octal)"));
    BOOST_TEST(warning.find("0660") != std::string::npos);
    BOOST_TEST(warning.ends_with("\n"));
    BOOST_TEST(std::count(warning.begin(), warning.end(), '\n') == 1);

    // The short form warns under the long name too.
    std::string short_form = joined(capture_stderr([&] { parse({"test-applet", "-m644", "p"}); }));
    BOOST_TEST(short_form.starts_with("test-applet: WARNING: --mode: 644 is decimal"));

    for (std::string quiet : {"0660", "0x1b4", "7", "0", "00"}) {
        BOOST_TEST_CONTEXT("mode " << quiet) {
            auto writes = capture_stderr([&] { parse({"test-applet", "--mode", quiet, "p"}); });
            BOOST_TEST(writes.empty());
        }
    }
    // 680 cannot have been meant as octal: it still warns, but suggests no "0680",
    // which would be refused as a number.
    std::string not_octal = joined(capture_stderr([&] {
        line = parse({"test-applet", "--mode", "680", "p"});
    }));
    BOOST_TEST(line.options.number("mode").value_or(0) == 680u);
    BOOST_TEST(not_octal == "test-applet: WARNING: --mode: 680 is decimal (01250 in octal)\n");
    std::string nine = joined(capture_stderr([&] { parse({"test-applet", "-m", "19", "p"}); }));
    BOOST_TEST(nine == "test-applet: WARNING: --mode: 19 is decimal (023 in octal)\n");

    // Only the options that expect octal warn.
    BOOST_TEST(capture_stderr([&] { parse({"test-applet", "--backlog", "660", "p"}); }).empty());
}

BOOST_AUTO_TEST_CASE(odd_option_words_are_usage_errors_and_never_hang) {
    // Boost formats its messages from templates with %placeholders%; an option
    // name holding one must not send that formatting round in circles. Each
    // case runs in a child with an alarm, so a hang fails instead of blocking.
    for (std::string word :
         {"--%canonical_option%=", "--x%canonical_option%=", "--%canonical_option%=1", "--%value%",
          "-%canonical_option%", "--copy=%canonical_option%", "--=x", "--=", "---", "---copy",
          "--copy=", "-c="}) {
        BOOST_TEST_CONTEXT("word " << word) {
            ChildResult child = in_child(
                [&] {
                    try {
                        parse({"test-applet", word, "prog"});
                    } catch (const Failure& failure) {
                        bool usage = failure.status() == exit_usage && !failure.subject().empty();
                        ::_exit(usage ? 100 : 1);
                    }
                },
                5);
            BOOST_TEST(child.status < 1000); // it ended by itself
            BOOST_TEST(child.status == 100);
        }
    }
}

BOOST_AUTO_TEST_CASE(an_empty_value_means_the_same_however_it_is_written) {
    // "--name=" and "--name ''" both give an empty value; what an empty value
    // means (an error, mostly) is for the code that uses it to say, once.
    for (std::initializer_list<std::string> words :
         {std::initializer_list<std::string>{"test-applet", "--name=", "prog"},
          {"test-applet", "--name", "", "prog"}}) {
        CommandLine line = parse(words);
        BOOST_TEST(line.options.text("name").value_or("unset") == "");
        BOOST_TEST(line.first_operand == words.size() - 1);
    }
    for (std::initializer_list<std::string> words :
         {std::initializer_list<std::string>{"test-applet", "--backlog=", "prog"},
          {"test-applet", "--backlog", "", "prog"},
          {"test-applet", "-b", "", "prog"}}) {
        Failure failure = failure_of(words);
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "--backlog");
        BOOST_TEST(failure.detail() == "not a number (empty)");
    }
    check_usage_error({"test-applet", "--copy=", "prog"}, "copy"); // a flag takes no value
}

BOOST_AUTO_TEST_CASE(values_that_look_like_options) {
    // Where the options end must agree with what Boost took as values.
    CommandLine unknown = parse({"test-applet", "--user", "-x", "prog"});
    BOOST_TEST(unknown.options.text("user").value_or("") == "-x");
    BOOST_TEST(unknown.first_operand == 3u);
    CommandLine dashes = parse({"test-applet", "-u", "--", "prog"});
    BOOST_TEST(dashes.options.text("user").value_or("") == "--");
    BOOST_TEST(dashes.first_operand == 3u);
    // A value that is one of our own options is taken for a forgotten value.
    check_usage_error({"test-applet", "--user", "-c", "prog"}, "user");
    check_usage_error({"test-applet", "-b", "-5", "prog"}, "backlog");
    check_usage_error({"test-applet", "--backlog", "-v", "prog"}, "backlog");
}

// Boost is given only the options the words name (its description of the whole
// table costs more than the parse); nothing a command line means may depend on that.
BOOST_AUTO_TEST_CASE(a_word_may_name_an_option_twice) {
    CommandLine flags = parse({"test-applet", "-cc", "-vcv", "prog"});
    BOOST_TEST(flags.options.has("copy"));
    BOOST_TEST(flags.options.has("verbose"));
    BOOST_TEST(!flags.options.has("backlog"));
    BOOST_TEST(flags.first_operand == 3u);
    // Long and short forms of one option, and the same option in one cluster.
    CommandLine values = parse({"test-applet", "-b7", "--backlog", "8", "-cb9", "--copy", "prog"});
    BOOST_TEST(values.options.number("backlog").value_or(0) == 9u);
    BOOST_TEST(values.options.has("copy"));
    BOOST_TEST(values.first_operand == 6u);
    // A value that spells a letter of a flag is a value, not a second option.
    BOOST_TEST(parse({"test-applet", "-uc", "-c", "p"}).options.text("user").value_or("") == "c");
    check_usage_error({"test-applet", "-bb", "prog"}, "backlog"); // "b" is no number
}

BOOST_AUTO_TEST_CASE(only_the_options_named_are_parsed) {
    CommandLine line = parse({"test-applet", "-v", "--mode", "0660", "prog", "-c", "--name=x"});
    BOOST_TEST(line.options.has("verbose"));
    BOOST_TEST(line.options.number("mode").value_or(0) == 0660u);
    for (std::string_view other : {"copy", "backlog", "limit", "name", "user"})
        BOOST_TEST(!line.options.has(other), other << " was not given");
    BOOST_TEST(line.first_operand == 4u);
    // Every option of the table, each in another form.
    CommandLine all = parse(
        {"test-applet", "-cv", "-b", "1", "--mode=02", "-l3", "--name", "n", "--user=", "prog"});
    BOOST_TEST(all.options.has("copy"));
    BOOST_TEST(all.options.has("verbose"));
    BOOST_TEST(all.options.number("backlog").value_or(0) == 1u);
    BOOST_TEST(all.options.number("mode").value_or(0) == 2u);
    BOOST_TEST(all.options.number("limit").value_or(0) == 3u);
    BOOST_TEST(all.options.text("name").value_or("") == "n");
    BOOST_TEST(all.options.text("user").value_or("unset") == "");
    BOOST_TEST(all.first_operand == 9u);
}

BOOST_AUTO_TEST_CASE(attached_values_and_empty_values_after_equals) {
    CommandLine attached = parse({"test-applet", "-m0660", "-ux=y", "--limit=4", "prog"});
    BOOST_TEST(attached.options.number("mode").value_or(0) == 0660u);
    BOOST_TEST(attached.options.text("user").value_or("") == "x=y");
    BOOST_TEST(attached.options.number("limit").value_or(0) == 4u);
    BOOST_TEST(attached.first_operand == 4u);
    // "--x=" is an empty value, also between other options.
    CommandLine empty = parse({"test-applet", "--user=", "-c", "--name=", "prog"});
    BOOST_TEST(empty.options.text("user").value_or("unset") == "");
    BOOST_TEST(empty.options.text("name").value_or("unset") == "");
    BOOST_TEST(empty.options.has("copy"));
    BOOST_TEST(empty.first_operand == 4u);
    Failure number = failure_of({"test-applet", "-c", "--limit=", "prog"});
    BOOST_TEST(number.subject() == "--limit");
    BOOST_TEST(number.detail() == "not a number (empty)");
}

BOOST_AUTO_TEST_CASE(unknown_options_are_refused_with_the_same_words_wherever_they_are) {
    // Alone, after or before known options, in a cluster: Boost's subject (the
    // whole word) and our detail, as when Boost was given the whole table.
    // An aggregate, so each list's words live as long as the case does.
    struct Case {
        std::initializer_list<std::string> words;
        std::string subject;
    };
    const Case cases[] = {
        {{"test-applet", "--bogus", "prog"}, "--bogus"},
        {{"test-applet", "-c", "--bogus", "prog"}, "--bogus"},
        {{"test-applet", "--bogus", "-c", "prog"}, "--bogus"},
        {{"test-applet", "-b", "1", "--bogus=2", "prog"}, "--bogus=2"},
        {{"test-applet", "-x", "prog"}, "-x"},
        {{"test-applet", "-cx", "prog"}, "-cx"},
        {{"test-applet", "-v", "-xc", "prog"}, "-xc"},
        {{"test-applet", "-xb", "5", "prog"}, "-xb"},
    };
    for (const Case& given : cases) {
        BOOST_TEST_CONTEXT("subject " << given.subject) {
            Failure failure = failure_of(given.words);
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.subject() == given.subject);
            BOOST_TEST(failure.detail() == "unknown option");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_value_that_is_another_option_not_otherwise_named) {
    // Boost takes a next word that is one of the table's short options for a
    // forgotten value, even though no other word names that option.
    check_usage_error({"test-applet", "-u", "-v", "prog"}, "user");
    check_usage_error({"test-applet", "--name", "-l", "prog"}, "name");
    Failure failure = failure_of({"test-applet", "--user", "-c", "prog"});
    BOOST_TEST(failure.detail() == "needs a value");
    // A long option in the next word, ours or not, is a value (as Boost has it).
    BOOST_TEST(parse({"test-applet", "-u", "--verbose", "p"}).options.text("user").value_or("") ==
               "--verbose");
    BOOST_TEST(parse({"test-applet", "-u", "--other", "p"}).options.text("user").value_or("") ==
               "--other");
}
