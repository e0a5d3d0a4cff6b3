#define BOOST_TEST_MODULE listen_fds
#include <boost/test/unit_test.hpp>

#include "listen_fds.hpp"
#include "support.hpp"

#include <climits>
#include <string>
#include <unistd.h>
#include <vector>

using namespace toolkit;

namespace {

struct Environment {
    explicit Environment(std::vector<std::string> values)
        : strings(std::move(values)), pending(nullptr) {
        for (auto& s : strings)
            pointers.push_back(s.data());
        pointers.push_back(nullptr);
        pending = PendingEnvironment(pointers.data());
    }
    std::vector<std::string> strings;
    std::vector<char*> pointers;
    PendingEnvironment pending;
};

int inherited(std::vector<std::string> values, pid_t pid) {
    Environment environment(std::move(values));
    return inherited_listen_fds(environment.pending, pid);
}

} // namespace

BOOST_AUTO_TEST_CASE(for_this_process) {
    BOOST_TEST(first_listen_fd == 3);
    BOOST_TEST(inherited({"LISTEN_PID=1234", "LISTEN_FDS=2"}, 1234) == 2);
    BOOST_TEST(inherited({"LISTEN_FDS=1", "OTHER=x", "LISTEN_PID=77"}, 77) == 1);
    BOOST_TEST(inherited({"LISTEN_PID=1234", "LISTEN_FDS=0"}, 1234) == 0);
    BOOST_TEST(inherited({"LISTEN_PID=1234", "LISTEN_FDS=2147483644"}, 1234) == INT_MAX - 3);
}

BOOST_AUTO_TEST_CASE(for_another_process_or_none) {
    BOOST_TEST(inherited({"LISTEN_PID=1234", "LISTEN_FDS=2"}, 1235) == 0);
    BOOST_TEST(inherited({"LISTEN_FDS=2"}, 1234) == 0);
    BOOST_TEST(inherited({"LISTEN_PID=1234"}, 1234) == 0);
    BOOST_TEST(inherited({}, 1234) == 0);
}

BOOST_AUTO_TEST_CASE(anything_odd_means_none) {
    for (std::string fds : {"", "02", "0x2", "2x", " 2", "+2", "-1", "2147483645", "4294967298",
                            "18446744073709551616"}) {
        BOOST_TEST_CONTEXT("LISTEN_FDS=" << fds) {
            BOOST_TEST(inherited({"LISTEN_PID=1234", "LISTEN_FDS=" + fds}, 1234) == 0);
        }
    }
    for (std::string pid : {"", "01234", "0x4d2", "+1234", "1234 ", "5296"}) {
        BOOST_TEST_CONTEXT("LISTEN_PID=" << pid) {
            BOOST_TEST(inherited({"LISTEN_PID=" + pid, "LISTEN_FDS=2"}, 1234) == 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(names_match_the_count) {
    auto match = [](std::vector<std::string> values, int count) {
        Environment environment(std::move(values));
        return listen_fdnames_match(environment.pending, count);
    };
    BOOST_TEST(match({}, 0));
    BOOST_TEST(!match({}, 1));
    BOOST_TEST(match({"LISTEN_FDNAMES=web"}, 1));
    BOOST_TEST(!match({"LISTEN_FDNAMES=web"}, 2));
    BOOST_TEST(match({"LISTEN_FDNAMES=web:admin"}, 2));
    BOOST_TEST(match({"LISTEN_FDNAMES=a::b"}, 3)); // empty names still count
    BOOST_TEST(match({"LISTEN_FDNAMES=a:"}, 2));
    BOOST_TEST(!match({"LISTEN_FDNAMES=a:b:c"}, 2));
}

BOOST_AUTO_TEST_CASE(an_empty_variable_holds_no_names) {
    // libsystemd splits LISTEN_FDNAMES="" into no names at all.
    auto match = [](int count) {
        Environment environment({"LISTEN_FDNAMES="});
        return listen_fdnames_match(environment.pending, count);
    };
    BOOST_TEST(match(0));
    BOOST_TEST(!match(1));
}

namespace {

std::vector<std::string> announced(std::vector<std::string> values, const ListenAnnouncement& what,
                                   int inherited) {
    Environment environment(std::move(values));
    announce_listener(environment.pending, what, inherited);
    std::vector<std::string> entries;
    for (char* const* entry = environment.pending.envp(); *entry; ++entry)
        entries.emplace_back(*entry);
    return entries;
}

} // namespace

BOOST_AUTO_TEST_CASE(announcing_a_listener) {
    std::string pid = std::to_string(::getpid());
    using V = std::vector<std::string>;
    BOOST_TEST(announced({"A=1"}, {}, 0) == V{"A=1"});
    BOOST_TEST(announced({}, {true, false, std::nullopt}, 0) ==
               (V{"LISTEN_FDS=1", "LISTEN_PID=" + pid}));
    BOOST_TEST(announced({}, {true, false, "web"}, 0) ==
               (V{"LISTEN_FDNAMES=web", "LISTEN_FDS=1", "LISTEN_PID=" + pid}));
    // Appended to a set of two: the new socket is on descriptor 5.
    BOOST_TEST(announced({"LISTEN_FDS=2", "LISTEN_FDNAMES=a:b"}, {true, true, std::nullopt}, 2) ==
               (V{"LISTEN_FDS=3", "LISTEN_FDNAMES=a:b:unknown", "LISTEN_PID=" + pid,
                  "UPSTART_FDS=5", "UPSTART_EVENTS=socket"}));
    BOOST_TEST(announced({}, {false, true, std::nullopt}, 0) ==
               (V{"UPSTART_FDS=3", "UPSTART_EVENTS=socket"}));
}

BOOST_AUTO_TEST_CASE(listen_fd_names) {
    using toolkit::testing::failure_of;
    check_listen_fd_name("web");
    check_listen_fd_name(std::string(255, 'x'));
    for (std::string name : {std::string(), std::string(256, 'x'), std::string("a:b"),
                             std::string("tab\there"), std::string("\x7f")}) {
        Failure failure = failure_of([&] { check_listen_fd_name(name); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "--name");
    }
}
