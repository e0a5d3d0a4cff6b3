#define BOOST_TEST_MODULE install
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "install.hpp"
#include "registry.hpp"

#include "support.hpp"
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

std::vector<std::string> applet_names() {
    std::vector<std::string> names;
    for (const AppletInfo* applet : all_applets())
        names.emplace_back(applet->syntax.name);
    return names;
}

// What install_links() did: its status, and its stdout and stderr lines.
struct Outcome {
    int status = -1;
    std::string out;
    std::vector<std::string> errors;
};

Outcome install(const std::string& binary, const std::string& directory, bool symbolic) {
    Outcome outcome;
    outcome.out = joined(capture_writes(STDOUT_FILENO, [&] {
        outcome.errors =
            capture_stderr([&] { outcome.status = install_links(binary, directory, symbolic); });
    }));
    return outcome;
}

std::string lines(const std::string& verb, const std::string& directory) {
    std::string text;
    for (const std::string& name : applet_names())
        text += "toolkit: " + verb + " " + directory + "/" + name + "\n";
    return text;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

std::string link_of(const std::string& path) {
    char buffer[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
    return n < 0 ? std::string() : std::string(buffer, static_cast<std::size_t>(n));
}

} // namespace

BOOST_AUTO_TEST_CASE(hard_links_then_kept) {
    TempDir dir;
    std::string binary = dir.file("toolkit", "#!/bin/sh\n", 0755);
    std::string links = dir.directory("bin");
    Outcome first = install(binary, links, false);
    BOOST_TEST(first.status == exit_success);
    BOOST_TEST(first.out == lines("linked", links));
    BOOST_TEST(first.errors.empty());
    for (const std::string& name : applet_names())
        BOOST_TEST(same_file(links + "/" + name, binary), name);

    // A second run, symbolic or not, keeps what is already ours.
    Outcome again = install(binary, links, true);
    BOOST_TEST(again.status == exit_success);
    BOOST_TEST(again.out == lines("kept", links));
    BOOST_TEST(link_of(links + "/fdmove").empty()); // still the hard link
}

BOOST_AUTO_TEST_CASE(symbolic_links_hold_the_path_or_beside_the_binary_its_name) {
    TempDir dir;
    std::string binary = dir.file("toolkit", "#!/bin/sh\n", 0755);
    std::string elsewhere = dir.directory("elsewhere");
    Outcome away = install(binary, elsewhere, true);
    BOOST_TEST(away.status == exit_success);
    BOOST_TEST(away.out == lines("symlinked", elsewhere));
    BOOST_TEST(link_of(elsewhere + "/fdmove") == binary);

    Outcome beside = install(binary, dir.path, true);
    BOOST_TEST(beside.status == exit_success);
    BOOST_TEST(link_of(dir.path + "/fdmove") == "toolkit");
}

BOOST_AUTO_TEST_CASE(strangers_are_left_alone_and_reported) {
    TempDir dir;
    std::string binary = dir.file("toolkit", "#!/bin/sh\n", 0755);
    std::string links = dir.directory("bin");
    std::string foreign = dir.file("bin/fdmove", "not ours\n", 0644);
    BOOST_TEST_REQUIRE(::symlink("nowhere", (links + "/setuidgid").c_str()) == 0);
    Outcome outcome = install(binary, links, false);
    BOOST_TEST(outcome.status == exit_failure);
    std::vector<std::string> expected{
        "toolkit: ERROR: " + links + "/fdmove: exists and is not a link to toolkit; left alone\n",
        "toolkit: ERROR: " + links +
            "/setuidgid: exists and is not a link to toolkit; left alone\n"};
    BOOST_TEST(outcome.errors == expected, boost::test_tools::per_element());
    BOOST_TEST(!same_file(foreign, binary));
    BOOST_TEST(link_of(links + "/setuidgid") == "nowhere");
    // The others were made, and only they are reported.
    std::string made;
    for (const std::string& name : applet_names())
        if (name != "fdmove" && name != "setuidgid")
            made += "toolkit: linked " + links + "/" + name + "\n";
    BOOST_TEST(outcome.out == made);
}

BOOST_AUTO_TEST_CASE(a_directory_that_cannot_be_used_is_one_failure_and_nothing_done) {
    TempDir dir;
    std::string binary = dir.file("toolkit", "#!/bin/sh\n", 0755);
    std::string missing = dir.path + "/missing";
    std::string plain = dir.file("plain", "", 0644);
    for (auto [directory, err] : {std::pair{missing, ENOENT}, std::pair{plain, ENOTDIR}}) {
        BOOST_TEST_CONTEXT("directory " << directory) {
            std::vector<std::string> out, errors;
            Failure failure(0, "", "");
            out = capture_writes(STDOUT_FILENO, [&] {
                errors = capture_stderr(
                    [&] { failure = failure_of([&] { install_links(binary, directory, true); }); });
            });
            BOOST_TEST(failure.status() == exit_failure);
            BOOST_TEST(failure.subject() == directory);
            BOOST_TEST(failure.detail() == std::strerror(err));
            BOOST_TEST(out.empty());
            BOOST_TEST(errors.empty());
        }
    }
    struct stat st;
    BOOST_TEST(::lstat(missing.c_str(), &st) < 0);
}

BOOST_AUTO_TEST_CASE(a_missing_binary_is_a_failure_naming_it) {
    TempDir dir;
    Failure failure = failure_of([&] { install_links(dir.path + "/gone", dir.path, false); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == dir.path + "/gone");
}

BOOST_AUTO_TEST_CASE(the_words_after_install) {
    for (std::initializer_list<std::string> words :
         {std::initializer_list<std::string>{}, {"-s"}, {"dir", "extra"}, {"-s", "dir", "extra"}}) {
        Args args(words);
        Failure failure = failure_of([&] { install_command(args.span()); });
        BOOST_TEST(failure.status() == exit_usage);
        BOOST_TEST(failure.subject() == "--install");
    }
}
