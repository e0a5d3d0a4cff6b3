#define BOOST_TEST_MODULE diagnostics
#undef NDEBUG // so that <assert.h> declares __assert_fail
#include <cassert>

#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"

#include "support.hpp"
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

struct NameGuard {
    ~NameGuard() { set_program_name("toolkit"); }
};

} // namespace

BOOST_AUTO_TEST_CASE(failure_constructors) {
    Failure usage = usage_error("--backlog", "not a number: x");
    BOOST_TEST(usage.status() == 100);
    BOOST_TEST(usage.subject() == "--backlog");
    BOOST_TEST(usage.detail() == "not a number: x");

    Failure system = system_error("/run/socket", ENOENT);
    BOOST_TEST(system.status() == 111);
    BOOST_TEST(system.subject() == "/run/socket");
    BOOST_TEST(system.detail() == std::strerror(ENOENT));

    Failure lookup = lookup_error("nobody-here", "no such account");
    BOOST_TEST(lookup.status() == 111);
    BOOST_TEST(lookup.subject() == "nobody-here");
    BOOST_TEST(lookup.detail() == "no such account");

    BOOST_TEST(exit_success == 0);
    BOOST_TEST(exit_usage == 100);
    BOOST_TEST(exit_failure == 111);
    BOOST_TEST(exit_cannot_run == 126);
    BOOST_TEST(exit_not_found == 127);
}

BOOST_AUTO_TEST_CASE(one_write_per_line_in_the_documented_format) {
    NameGuard guard;
    set_program_name("fdmove");
    auto messages = capture_stderr([] {
        report_fatal(system_error("descriptor 9", EBADF));
        error("accept", "Too many open files");
        warning("--mode", "660 is decimal");
        report("FATAL", "subject", "detail");
    });
    std::vector<std::string> expected{
        "fdmove: FATAL: descriptor 9: " + std::string(std::strerror(EBADF)) + "\n",
        "fdmove: ERROR: accept: Too many open files\n",
        "fdmove: WARNING: --mode: 660 is decimal\n",
        "fdmove: FATAL: subject: detail\n",
    };
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_long_line_is_still_one_write_cut_to_the_limit) {
    NameGuard guard;
    set_program_name("setuidgid");
    std::string detail(10000, 'd');
    auto messages = capture_stderr([&] { error(std::string(5000, 's'), detail); });
    BOOST_TEST_REQUIRE(messages.size() == 1u);
    std::string whole = "setuidgid: ERROR: " + std::string(5000, 's') + ": " + detail;
    BOOST_TEST(messages[0] == whole.substr(0, MessageLine::capacity) + "\n");
}

BOOST_AUTO_TEST_CASE(a_line_that_just_fits_is_whole) {
    NameGuard guard;
    set_program_name("setuidgid");
    std::string prefix = "setuidgid: ERROR: subject: ";
    std::string detail(MessageLine::capacity - prefix.size(), 'd');
    auto messages = capture_stderr([&] { error("subject", detail); });
    BOOST_TEST_REQUIRE(messages.size() == 1u);
    BOOST_TEST(messages[0] == prefix + detail + "\n");
}

BOOST_AUTO_TEST_CASE(numbers_and_parts_make_one_line) {
    NameGuard guard;
    set_program_name("lstream-accept");
    auto messages = capture_stderr([] {
        MessageLine().add(-12).add(" started ").add(3u).add("/").add(40ull).write();
        errno = EBADF;
        MessageLine("ERROR", "", "detail").add(" (hint)").write();
        BOOST_TEST(errno == EBADF);
    });
    std::vector<std::string> expected{"lstream-accept: -12 started 3/40\n",
                                      "lstream-accept: ERROR: detail (hint)\n"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(control_characters_are_escaped_so_a_message_stays_one_line) {
    NameGuard guard;
    set_program_name("envdir");
    auto messages = capture_stderr([] {
        report_fatal(Failure(111, "e/X\nenvdir: FATAL: forged", "tab\there \x1b[2J\x7f \\ok"));
    });
    BOOST_TEST_REQUIRE(messages.size() == 1u);
    BOOST_TEST(messages[0] ==
               "envdir: FATAL: e/X\\nenvdir: FATAL: forged: tab\\there \\x1b[2J\\x7f \\ok\n");
}

BOOST_AUTO_TEST_CASE(an_escape_that_does_not_fit_is_cut_whole) {
    NameGuard guard;
    set_program_name("x");
    std::string prefix = "x: ";
    std::string fill(MessageLine::capacity - prefix.size() - 3, 'f');
    auto messages = capture_stderr([&] {
        MessageLine()
            .add(fill)
            .add("ab\x01"
                 "cd")
            .write();
    });
    BOOST_TEST_REQUIRE(messages.size() == 1u);
    BOOST_TEST(messages[0] == prefix + fill + "ab\n");
}

BOOST_AUTO_TEST_CASE(an_empty_subject_is_left_out) {
    NameGuard guard;
    set_program_name("fdmove");
    auto messages = capture_stderr([] {
        report_fatal(Failure(111, "", "out of memory"));
        warning("", "careful");
    });
    std::vector<std::string> expected{"fdmove: FATAL: out of memory\n",
                                      "fdmove: WARNING: careful\n"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_name_follows_the_running_program) {
    NameGuard guard;
    BOOST_TEST(program_name() == "toolkit");
    auto messages = capture_stderr([] {
        error("x", "first");
        set_program_name("fdmove");
        error("x", "second");
        set_program_name("setuidgid");
        error("x", "third");
    });
    std::vector<std::string> expected{"toolkit: ERROR: x: first\n", "fdmove: ERROR: x: second\n",
                                      "setuidgid: ERROR: x: third\n"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
    BOOST_TEST(program_name() == "setuidgid");
}

BOOST_AUTO_TEST_CASE(reporting_keeps_errno) {
    auto messages = capture_stderr([] {
        errno = EACCES;
        warning("a", "b");
        BOOST_TEST(errno == EACCES);
    });
    BOOST_TEST(messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(write_all_writes_everything) {
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    // Far more than a pipe holds, so write(2) comes back short while the reader drains it.
    std::string text;
    for (int i = 0; text.size() < 1000000; ++i)
        text += std::to_string(i) + ",";
    std::string received;
    std::thread reader([&] {
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0)
            received.append(buffer, static_cast<std::size_t>(n));
    });
    bool written = write_all(pipe_fds[1], text);
    ::close(pipe_fds[1]);
    reader.join();
    ::close(pipe_fds[0]);
    BOOST_TEST(written);
    BOOST_TEST(received.size() == text.size());
    BOOST_TEST((received == text));
}

BOOST_AUTO_TEST_CASE(write_all_reports_failure) {
    BOOST_TEST(write_all(-1, "x") == false);
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST(write_all(fd, "x") == false);
    ::close(fd);

    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    ::close(pipe_fds[0]);
    auto old = std::signal(SIGPIPE, SIG_IGN);
    BOOST_TEST(write_all(pipe_fds[1], "x") == false);
    std::signal(SIGPIPE, old);
    ::close(pipe_fds[1]);

    BOOST_TEST(write_all(-1, "") == true); // nothing to write is not a failure
}

BOOST_AUTO_TEST_CASE(a_failed_assertion_is_one_fatal_line_then_abort) {
    ChildResult child = in_child([] {
        set_program_name("fdmove");
        __assert_fail("count > 0", "commands/fdmove.cpp", 42, "void toolkit::f()");
    });
    BOOST_TEST(child.status == 1000 + SIGABRT);
    std::vector<std::string> expected{"fdmove: FATAL: assertion failed: count > 0 "
                                      "(commands/fdmove.cpp:42, in void toolkit::f())\n"};
    BOOST_TEST(child.writes == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_assertion_without_a_function_name_still_reports) {
    ChildResult child = in_child([] { __assert_fail("x", "f.c", 4294967295u, nullptr); });
    BOOST_TEST(child.status == 1000 + SIGABRT);
    std::vector<std::string> expected{
        "toolkit: FATAL: assertion failed: x (f.c:4294967295, in ?)\n"};
    BOOST_TEST(child.writes == expected, boost::test_tools::per_element());
}
