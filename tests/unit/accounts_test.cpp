#define BOOST_TEST_MODULE accounts
#include <boost/test/unit_test.hpp>

#include "accounts.hpp"
#include "diagnostics.hpp"

#include "support.hpp"
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

// A temporary file holding TEXT, removed afterwards.
struct TempFile {
    explicit TempFile(const std::string& text) {
        char name[] = "/tmp/toolkit-accounts-test.XXXXXX";
        int fd = ::mkstemp(name);
        BOOST_TEST_REQUIRE(fd >= 0);
        path = name;
        BOOST_TEST_REQUIRE(::write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
    ~TempFile() { ::unlink(path.c_str()); }
    std::string path;
};

const char* const passwd_text = "# a comment:x:1:1:::\n"
                                "\n"
                                "root:x:0:0:root:/root:/bin/sh\n"
                                "+nisuser::::::\n"
                                "-banned:x:5:5:::\n"
                                "broken:x:12:12\n"
                                "negative:x:-1:5:::\n"
                                "alice:x:1000:100:Alice:/home/alice:/bin/sh\n"
                                "bob:x:1001:1001::/home/bob:\n"
                                "alice:x:2000:2000:second alice:/:/bin/sh\n"
                                "max:x:4294967294:4294967294:::\n"
                                "last:x:7:8:::/bin/sh"; // no final newline

const char* const group_text = "# comment\n"
                               "root:x:0:\n"
                               "users:x:100:alice,bob\n"
                               "+nisgroup:::\n"
                               "-banned:x:9:alice\n"
                               "broken:x:77\n"
                               "wheel:x:10:bob,alice\n"
                               "alicefans:x:11:alicex,xalice\n"
                               "empty:x:12:,,\n"
                               "again:x:10:alice\n"
                               "audio:*:29:alice,\n"
                               "last:x:30:alice"; // no final newline

} // namespace

BOOST_AUTO_TEST_CASE(passwd_lines) {
    auto root = parse_passwd_line("root:x:0:0:root:/root:/bin/bash");
    BOOST_TEST_REQUIRE(root.has_value());
    BOOST_TEST(root->name == "root");
    BOOST_TEST(root->uid == 0u);
    BOOST_TEST(root->gid == 0u);

    auto user = parse_passwd_line("daemon:*:1:2:::");
    BOOST_TEST_REQUIRE(user.has_value());
    BOOST_TEST(user->uid == 1u);
    BOOST_TEST(user->gid == 2u);

    auto max = parse_passwd_line("max:x:4294967294:4294967294:::");
    BOOST_TEST_REQUIRE(max.has_value());
    BOOST_TEST(max->uid == 4294967294u);
    BOOST_TEST(max->gid == 4294967294u);
}

BOOST_AUTO_TEST_CASE(malformed_passwd_lines) {
    for (std::string line : {"",
                             "# root:x:0:0:root:/root:/bin/sh",
                             "+",
                             "+root:x:0:0:::",
                             "-root:x:0:0:::",
                             "+@netgroup::::::",
                             "root:x:0:0:root:/root",
                             "root:x:0:0:root:/root:/bin/sh:extra",
                             ":x:0:0:::",
                             "root:x::0:::",
                             "root:x:0::::",
                             "root:x:zero:0:::",
                             "root:x:0:0x0:::",
                             "root:x: 0:0:::",
                             "root:x:0 :0:::",
                             "root:x:-1:0:::",
                             "root:x:+1:0:::",
                             "root:x:4294967295:0:::",
                             "root:x:0:4294967295:::",
                             "root:x:4294967296:0:::",
                             "root:x:99999999999:0:::",
                             "root"}) {
        BOOST_TEST(!parse_passwd_line(line).has_value(), "accepted \"" << line << "\"");
    }
}

BOOST_AUTO_TEST_CASE(group_lines) {
    auto users = parse_group_line("users:x:100:alice,bob");
    BOOST_TEST_REQUIRE(users.has_value());
    BOOST_TEST(users->name == "users");
    BOOST_TEST(users->gid == 100u);
    BOOST_TEST(users->members == (std::vector<std::string>{"alice", "bob"}),
               boost::test_tools::per_element());

    auto none = parse_group_line("root:x:0:");
    BOOST_TEST_REQUIRE(none.has_value());
    BOOST_TEST(none->members.empty());

    auto sloppy = parse_group_line("g:x:5:,a,,b,");
    BOOST_TEST_REQUIRE(sloppy.has_value());
    BOOST_TEST(sloppy->members == (std::vector<std::string>{"a", "b"}),
               boost::test_tools::per_element());

    auto max = parse_group_line("nogroup:x:4294967294:");
    BOOST_TEST_REQUIRE(max.has_value());
    BOOST_TEST(max->gid == 4294967294u);
}

BOOST_AUTO_TEST_CASE(malformed_group_lines) {
    for (std::string line :
         {"", "#root:x:0:", "+", "+users:x:100:", "-users:x:100:alice", "users:x:100",
          "users:x:100:a:b", ":x:100:a", "users:x::a", "users:x:ten:a",
          "users:x:-1:", "users:x:4294967295:", "users:x:4294967296:", "users:x:0x10:", "users"}) {
        BOOST_TEST(!parse_group_line(line).has_value(), "accepted \"" << line << "\"");
    }
}

BOOST_AUTO_TEST_CASE(find_account_in_a_file) {
    TempFile passwd(passwd_text);
    auto alice = find_account_in(passwd.path, "alice");
    BOOST_TEST_REQUIRE(alice.has_value());
    BOOST_TEST(alice->uid == 1000u); // the first entry wins
    BOOST_TEST(alice->gid == 100u);

    auto max = find_account_in(passwd.path, "max");
    BOOST_TEST_REQUIRE(max.has_value());
    BOOST_TEST(max->uid == 4294967294u);

    auto last = find_account_in(passwd.path, "last");
    BOOST_TEST_REQUIRE(last.has_value());
    BOOST_TEST(last->uid == 7u);

    for (std::string absent :
         {"nobody", "nisuser", "+nisuser", "banned", "-banned", "ali", "alicex", "", "# a comment"})
        BOOST_TEST(!find_account_in(passwd.path, absent).has_value(), "found \"" << absent << "\"");
    // A malformed entry for the name stops the look-up: no later line may stand in for it.
    for (std::string bad : {"broken", "negative"}) {
        Failure failure = failure_of([&] { find_account_in(passwd.path, bad); });
        BOOST_TEST(failure.status() == exit_failure);
        BOOST_TEST(failure.subject() == bad);
        BOOST_TEST(failure.detail() == "its entry in " + passwd.path + " is malformed");
    }
}

BOOST_AUTO_TEST_CASE(a_malformed_first_entry_is_not_passed_over_for_root) {
    TempFile passwd("alice:x:4294967295:2000::/:/bin/sh\nalice:x:0:0::/:/bin/sh\n");
    BOOST_TEST(failure_of([&] { find_account_in(passwd.path, "alice"); }).status() == exit_failure);
    TempFile group("g1:x:4294967295:\ng1:x:0:\n");
    BOOST_TEST(failure_of([&] { find_group_in(group.path, "g1"); }).status() == exit_failure);
}

BOOST_AUTO_TEST_CASE(find_group_in_a_file) {
    TempFile group(group_text);
    auto wheel = find_group_in(group.path, "wheel");
    BOOST_TEST_REQUIRE(wheel.has_value());
    BOOST_TEST(wheel->gid == 10u);
    BOOST_TEST(wheel->members == (std::vector<std::string>{"bob", "alice"}),
               boost::test_tools::per_element());
    auto last = find_group_in(group.path, "last");
    BOOST_TEST_REQUIRE(last.has_value());
    BOOST_TEST(last->gid == 30u);
    for (std::string absent : {"nisgroup", "banned", "wheels", "whee", ""})
        BOOST_TEST(!find_group_in(group.path, absent).has_value(), "found \"" << absent << "\"");
    BOOST_TEST(failure_of([&] { find_group_in(group.path, "broken"); }).detail() ==
               "its entry in " + group.path + " is malformed");
}

BOOST_AUTO_TEST_CASE(groups_of_an_account_from_a_file) {
    TempFile group(group_text);
    // GID first, then each group listing alice once, in file order; never "banned" or look-alikes.
    BOOST_TEST(account_groups_in(group.path, "alice", 1000) ==
                   (std::vector<gid_t>{1000, 100, 10, 29, 30}),
               boost::test_tools::per_element());
    // A primary gid that is also a membership is not listed twice.
    BOOST_TEST(account_groups_in(group.path, "alice", 10) == (std::vector<gid_t>{10, 100, 29, 30}),
               boost::test_tools::per_element());
    BOOST_TEST(account_groups_in(group.path, "bob", 1001) == (std::vector<gid_t>{1001, 100, 10}),
               boost::test_tools::per_element());
    BOOST_TEST(account_groups_in(group.path, "nobody", 65534) == (std::vector<gid_t>{65534}),
               boost::test_tools::per_element());
    BOOST_TEST(account_groups_in(group.path, "", 5) == (std::vector<gid_t>{5}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_a_failure_naming_it) {
    std::string missing = "/nonexistent/toolkit/passwd";
    for (int which = 0; which < 3; ++which) {
        Failure failure = failure_of([&] {
            if (which == 0) find_account_in(missing, "root");
            if (which == 1) find_group_in(missing, "root");
            if (which == 2) account_groups_in(missing, "root", 0);
        });
        BOOST_TEST(failure.status() == exit_failure);
        BOOST_TEST(failure.subject() == missing);
        BOOST_TEST(failure.detail() == std::strerror(ENOENT));
    }
}

BOOST_AUTO_TEST_CASE(system_look_ups_of_root) {
    Account root = find_account("ACCOUNT", "root");
    BOOST_TEST(root.name == "root");
    BOOST_TEST(root.uid == 0u);
    BOOST_TEST(root.gid == 0u);
    BOOST_TEST(find_group("--group", "root") == 0u);

    std::vector<gid_t> groups = account_groups("root", 0);
    BOOST_TEST_REQUIRE(!groups.empty());
    BOOST_TEST(groups[0] == 0u);
    BOOST_TEST(std::count(groups.begin(), groups.end(), 0u) == 1);

    // Another primary gid goes first and the account's own is not forced in.
    std::vector<gid_t> other = account_groups("root", 4242);
    BOOST_TEST_REQUIRE(!other.empty());
    BOOST_TEST(other[0] == 4242u);
    BOOST_TEST(std::count(other.begin(), other.end(), 4242u) == 1);
}

BOOST_AUTO_TEST_CASE(unknown_names_fail_naming_them) {
    Failure account = failure_of([] { find_account("ACCOUNT", "toolkit-no-such-user"); });
    BOOST_TEST(account.status() == exit_failure);
    BOOST_TEST(account.subject() == "toolkit-no-such-user");
    Failure group = failure_of([] { find_group("--group", "toolkit-no-such-group"); });
    BOOST_TEST(group.status() == exit_failure);
    BOOST_TEST(group.subject() == "toolkit-no-such-group");
}

BOOST_AUTO_TEST_CASE(an_empty_name_is_a_usage_error_naming_where_it_came_from) {
    // Nothing to look up: no "no such account" with no name in it.
    Failure account = failure_of([] { find_account("--user", ""); });
    BOOST_TEST(account.status() == exit_usage);
    BOOST_TEST(account.subject() == "--user");
    BOOST_TEST(account.detail() == "empty account name");
    Failure operand = failure_of([] { find_account("ACCOUNT", ""); });
    BOOST_TEST(operand.status() == exit_usage);
    BOOST_TEST(operand.subject() == "ACCOUNT");
    Failure group = failure_of([] { find_group("--group", ""); });
    BOOST_TEST(group.status() == exit_usage);
    BOOST_TEST(group.subject() == "--group");
    BOOST_TEST(group.detail() == "empty group name");
    Failure either = failure_of([] { find_group_or_number("--primary-group", ""); });
    BOOST_TEST(either.status() == exit_usage);
    BOOST_TEST(either.subject() == "--primary-group");
    BOOST_TEST(either.detail() == "empty group name");
}

BOOST_AUTO_TEST_CASE(group_by_name_or_number) {
    BOOST_TEST(find_group_or_number("GROUP", "root") == 0u);
    BOOST_TEST(find_group_or_number("GROUP", "0") == 0u);
    BOOST_TEST(find_group_or_number("GROUP", "100") == 100u);
    BOOST_TEST(find_group_or_number("GROUP", "4294967294") == 4294967294u);
    BOOST_TEST(find_group_or_number("GROUP", "010") == 8u); // a C number: octal
    BOOST_TEST(find_group_or_number("GROUP", "00") == 0u);

    Failure too_big = failure_of([] { find_group_or_number("GROUP", "4294967295"); });
    BOOST_TEST(too_big.status() == exit_usage);
    BOOST_TEST(too_big.subject() == "GROUP");
    BOOST_TEST(failure_of([] {
                   find_group_or_number("GROUP", "99999999999999999999999");
               }).status() == exit_usage);
    BOOST_TEST(failure_of([] { find_group_or_number("GROUP", "08"); }).status() == exit_usage);

    Failure unknown = failure_of([] { find_group_or_number("GROUP", "toolkit-no-such-group"); });
    BOOST_TEST(unknown.status() == exit_failure);
    BOOST_TEST(unknown.subject() == "toolkit-no-such-group");
}

BOOST_AUTO_TEST_CASE(group_number_errors_name_the_option) {
    BOOST_TEST(find_group_or_number("--primary-group", "42") == 42u);
    BOOST_TEST(find_group_or_number("--primary-group", "root") == 0u);
    Failure too_big = failure_of([] { find_group_or_number("--primary-group", "4294967295"); });
    BOOST_TEST(too_big.status() == exit_usage);
    BOOST_TEST(too_big.subject() == "--primary-group");
    BOOST_TEST(too_big.detail().find("4294967295") != std::string::npos);
    // An unknown name is named itself: that is what was not found.
    Failure unknown =
        failure_of([] { find_group_or_number("--primary-group", "toolkit-no-such-group"); });
    BOOST_TEST(unknown.status() == exit_failure);
    BOOST_TEST(unknown.subject() == "toolkit-no-such-group");
}

BOOST_AUTO_TEST_CASE(lookups_say_unknown_without_throwing) {
    auto root = lookup_account("root");
    BOOST_TEST_REQUIRE(root.has_value());
    BOOST_TEST(root->uid == 0u);
    BOOST_TEST((lookup_group("root") == std::optional<gid_t>(0)));
    BOOST_TEST(!lookup_account("toolkit-no-such-user").has_value());
    BOOST_TEST(!lookup_group("toolkit-no-such-group").has_value());
}

BOOST_AUTO_TEST_CASE(account_ids_are_plain_decimal_within_range) {
    BOOST_TEST(read_account_id("0").value_or(1) == 0u);
    BOOST_TEST(read_account_id("65534").value_or(0) == 65534u);
    BOOST_TEST(read_account_id("4294967294").value_or(0) == 4294967294u);
    for (std::string_view bad : {"", "4294967295", "99999999999", "-1", "0x10", "1 ", " 1", "1a"})
        BOOST_TEST(!read_account_id(bad).has_value(), bad);
}
