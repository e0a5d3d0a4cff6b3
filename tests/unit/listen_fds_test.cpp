#define BOOST_TEST_MODULE listen_fds
#include <boost/test/unit_test.hpp>

#include "listen_fds.hpp"

#include <climits>
#include <string>
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
