#define BOOST_TEST_MODULE identity
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "identity.hpp"

#include "support.hpp"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <grp.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

// What a process is afterwards: its user ids, group ids, sorted supplementary
// groups, and whether setuid(0) and seteuid(0) were refused.
std::string describe_self() {
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    ::getresuid(&ruid, &euid, &suid);
    ::getresgid(&rgid, &egid, &sgid);
    std::vector<gid_t> groups(70000);
    int count = ::getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(count < 0 ? 0 : static_cast<std::size_t>(count));
    std::sort(groups.begin(), groups.end());
    std::string text = "uid";
    // (append, not operator+ on temporaries: GCC 12 warns about the latter falsely)
    auto add = [&text](unsigned long value) { text.append(" ").append(std::to_string(value)); };
    add(ruid), add(euid), add(suid);
    text.append(" gid");
    add(rgid), add(egid), add(sgid);
    text.append(" groups");
    for (gid_t g : groups)
        add(g);
    if (euid != 0) {
        errno = 0;
        bool regained = ::setuid(0) == 0 || ::seteuid(0) == 0;
        text += regained ? " root-regained" : std::string(" setuid0 ") + std::strerror(errno);
    }
    return text;
}

// What a child that ran BODY reports: "FAILURE status|subject|detail" when BODY
// throws, then describe_self() of the child afterwards.
template <typename Body> std::string identity_after(Body body) {
    ChildResult child = in_child([&] {
        std::string report;
        try {
            body();
        } catch (const Failure& failure) {
            report = "FAILURE " + std::to_string(failure.status()) + "|" + failure.subject() + "|" +
                     failure.detail() + "\n";
        }
        report += describe_self();
        if (!write_all(STDERR_FILENO, report)) ::_exit(1);
    });
    BOOST_TEST(child.status == 0);
    return child.err;
}

bool root() {
    if (::geteuid() == 0) return true;
    BOOST_TEST_MESSAGE("not running as root: nothing to drop");
    return false;
}

const std::string eperm = std::strerror(EPERM);
const std::string einval = std::strerror(EINVAL);

} // namespace

BOOST_AUTO_TEST_CASE(drops_to_the_identity_given) {
    if (!root()) return;
    std::string report = identity_after([] {
        assume_identity(Identity{65534, 65534, {65534, 100}});
    });
    BOOST_TEST(report ==
               "uid 65534 65534 65534 gid 65534 65534 65534 groups 100 65534 setuid0 " + eperm);
}

BOOST_AUTO_TEST_CASE(user_and_group_may_differ) {
    if (!root()) return;
    std::string report = identity_after([] {
        assume_identity(Identity{1000, 2000, {4000, 2000, 3000}});
    });
    BOOST_TEST(report ==
               "uid 1000 1000 1000 gid 2000 2000 2000 groups 2000 3000 4000 setuid0 " + eperm);
}

BOOST_AUTO_TEST_CASE(the_group_list_is_exactly_the_one_given) {
    if (!root()) return;
    // Start from a process with many groups: none of them may survive.
    std::string only = identity_after([] {
        gid_t many[] = {1, 2, 3, 4, 5};
        if (::setgroups(5, many) < 0) throw system_error("test setup", errno);
        assume_identity(Identity{4242, 4242, {4242}});
    });
    BOOST_TEST(only == "uid 4242 4242 4242 gid 4242 4242 4242 groups 4242 setuid0 " + eperm);

    std::string none = identity_after([] { assume_identity(Identity{4242, 4243, {}}); });
    BOOST_TEST(none == "uid 4242 4242 4242 gid 4243 4243 4243 groups setuid0 " + eperm);
}

BOOST_AUTO_TEST_CASE(ids_at_the_limit) {
    if (!root()) return;
    std::string report = identity_after([] {
        assume_identity(Identity{4294967294u, 4294967294u, {4294967294u}});
    });
    BOOST_TEST(report ==
               "uid 4294967294 4294967294 4294967294 gid 4294967294 4294967294 4294967294 "
               "groups 4294967294 setuid0 " +
                   eperm);
}

BOOST_AUTO_TEST_CASE(staying_root_is_allowed) {
    if (!root()) return;
    std::string report = identity_after([] { assume_identity(Identity{0, 0, {0}}); });
    BOOST_TEST(report == "uid 0 0 0 gid 0 0 0 groups 0");
}

BOOST_AUTO_TEST_CASE(too_many_groups_fails_before_anything_changed) {
    if (!root()) return;
    std::string report = identity_after([] {
        gid_t start[] = {0};
        if (::setgroups(1, start) < 0) throw system_error("test setup", errno);
        std::vector<gid_t> groups(static_cast<std::size_t>(::sysconf(_SC_NGROUPS_MAX)) + 1);
        for (std::size_t i = 0; i < groups.size(); ++i)
            groups[i] = static_cast<gid_t>(1000 + i);
        assume_identity(Identity{65534, 65534, groups});
    });
    BOOST_TEST(report == "FAILURE 111|setgroups|" + einval + "\nuid 0 0 0 gid 0 0 0 groups 0");
}

BOOST_AUTO_TEST_CASE(an_invalid_group_in_the_list_fails) {
    if (!root()) return;
    std::string report = identity_after([] {
        gid_t start[] = {0};
        if (::setgroups(1, start) < 0) throw system_error("test setup", errno);
        assume_identity(Identity{65534, 65534, {65534, static_cast<gid_t>(-1)}});
    });
    BOOST_TEST(report == "FAILURE 111|setgroups|" + einval + "\nuid 0 0 0 gid 0 0 0 groups 0");
}

BOOST_AUTO_TEST_CASE(an_invalid_gid_or_uid_fails_naming_the_call) {
    if (!root()) return;
    std::string gid = identity_after([] {
        assume_identity(Identity{65534, static_cast<gid_t>(-1), {65534}});
    });
    BOOST_TEST(gid.starts_with("FAILURE 111|setgid 4294967295|" + einval + "\nuid 0 0 0 "));

    std::string uid = identity_after([] {
        assume_identity(Identity{static_cast<uid_t>(-1), 65534, {65534}});
    });
    BOOST_TEST(
        uid.starts_with("FAILURE 111|setuid 4294967295|" + einval + "\nuid 0 0 0 gid 65534 "));
}

BOOST_AUTO_TEST_CASE(without_privilege_it_fails_cleanly) {
    if (!root()) return;
    std::string report = identity_after([] {
        if (::setgid(65534) < 0 || ::setuid(65534) < 0) throw system_error("test setup", errno);
        assume_identity(Identity{0, 0, {0}});
    });
    BOOST_TEST(report.starts_with("FAILURE 111|setgroups|" + eperm + "\nuid 65534 65534 65534 "));
}

// Who an account is: shared by setuidgid and envuidgid, looked up while planning.

BOOST_AUTO_TEST_CASE(identity_of_numbers_and_names) {
    Identity numeric = identity_of("123:0x10", false);
    BOOST_TEST(numeric.uid == 123u);
    BOOST_TEST(numeric.gid == 16u);
    BOOST_TEST((numeric.groups == std::vector<gid_t>{16}));

    Identity root = identity_of("root", false);
    BOOST_TEST(root.uid == 0u);
    BOOST_TEST((root.groups == std::vector<gid_t>{root.gid}));
    Identity other_group = identity_of("root", true, "0");
    BOOST_TEST(other_group.groups.front() == 0u); // the primary group comes first

    auto status_of = [](auto body) {
        try {
            body();
        } catch (const Failure& failure) {
            return failure.status();
        }
        return 0;
    };
    BOOST_TEST(status_of([] { identity_of("1:1", true); }) == exit_usage);
    BOOST_TEST(status_of([] { identity_of("1:x", false); }) == exit_usage);
    BOOST_TEST(status_of([] { identity_of("4294967295:1", false); }) == exit_usage);
    BOOST_TEST(status_of([] { identity_of("toolkit-no-such-user", false); }) == exit_failure);
}
