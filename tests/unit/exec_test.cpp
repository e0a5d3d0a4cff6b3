#define BOOST_TEST_MODULE exec
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "exec.hpp"

#include "support.hpp"
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

const std::string script = "#!/bin/sh\nexit 0\n";

// Back to the original working directory at the end of a test.
struct CwdGuard {
    CwdGuard() { BOOST_TEST_REQUIRE(::getcwd(saved, sizeof saved) != nullptr); }
    ~CwdGuard() {
        if (::chdir(saved) != 0) BOOST_TEST_MESSAGE("could not return to " << saved);
    }
    char saved[4096];
};

bool root() {
    return ::geteuid() == 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(default_search_path_is_confstr_without_the_current_directory) {
    std::string path = default_search_path();
    char buffer[4096];
    std::size_t needed = ::confstr(_CS_PATH, buffer, sizeof buffer);
    BOOST_TEST_REQUIRE(needed > 0u);
    BOOST_TEST(path == std::string(buffer));
    BOOST_TEST(!path.empty());
    // No empty element and no ".": either would mean the current directory.
    BOOST_TEST(!path.starts_with(":"));
    BOOST_TEST(!path.ends_with(":"));
    BOOST_TEST(path.find("::") == std::string::npos);
    BOOST_TEST(("" + path + ":").find(".:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_name_with_a_slash_is_used_as_it_is) {
    TempDir dir;
    std::string program = dir.file("prog", script, 0755);
    BOOST_TEST(find_program(program, "/nonexistent") == program);
    BOOST_TEST(find_program(program, nullptr) == program);

    CwdGuard cwd;
    BOOST_TEST_REQUIRE(::chdir(dir.path.c_str()) == 0);
    BOOST_TEST(find_program("./prog", "/nonexistent") == "./prog");

    Failure missing = failure_of([&] { find_program(dir.path + "/missing", "/bin"); });
    BOOST_TEST(missing.status() == exit_not_found);
    BOOST_TEST(missing.subject() == dir.path + "/missing");

    // A path with a slash is never searched for, even when PATH has it.
    Failure relative = failure_of([&] { find_program("sub/prog", dir.path.c_str()); });
    BOOST_TEST(relative.status() == exit_not_found);
    BOOST_TEST(relative.subject() == "sub/prog");

    Failure through_a_file = failure_of([&] { find_program(program + "/x", nullptr); });
    BOOST_TEST(through_a_file.status() == exit_not_found);
}

BOOST_AUTO_TEST_CASE(a_path_that_cannot_run_is_126) {
    TempDir dir;
    std::string directory = dir.directory("dir");
    Failure is_directory = failure_of([&] { find_program(directory, nullptr); });
    BOOST_TEST(is_directory.status() == exit_cannot_run);
    BOOST_TEST(is_directory.subject() == directory);
    BOOST_TEST(is_directory.detail() == std::strerror(EISDIR));

    std::string plain = dir.file("plain", script, 0644);
    Failure not_executable = failure_of([&] { find_program(plain, nullptr); });
    BOOST_TEST(not_executable.status() == exit_cannot_run);
    BOOST_TEST(not_executable.subject() == plain);
    BOOST_TEST(not_executable.detail() == std::strerror(EACCES));
}

BOOST_AUTO_TEST_CASE(path_is_searched_in_order) {
    TempDir dir;
    std::string first = dir.directory("first");
    std::string second = dir.directory("second");
    std::string third = dir.directory("third");
    dir.file("second/prog", script, 0755);
    dir.file("third/prog", script, 0755);
    std::string path = first + ":" + second + ":" + third;
    BOOST_TEST(find_program("prog", path.c_str()) == second + "/prog");
    std::string reversed = third + ":" + second;
    BOOST_TEST(find_program("prog", reversed.c_str()) == third + "/prog");
}

BOOST_AUTO_TEST_CASE(a_runnable_program_later_in_path_beats_one_that_cannot_run) {
    TempDir dir;
    std::string first = dir.directory("first");
    std::string second = dir.directory("second");
    std::string third = dir.directory("third");
    dir.file("first/prog", script, 0644);                               // no execute permission
    BOOST_TEST_REQUIRE(::mkdir((second + "/prog").c_str(), 0755) == 0); // a directory
    dir.file("third/prog", script, 0755);
    std::string path = first + ":" + second + ":" + third;
    BOOST_TEST(find_program("prog", path.c_str()) == third + "/prog");
}

BOOST_AUTO_TEST_CASE(only_something_that_cannot_run_is_126_naming_it) {
    TempDir dir;
    std::string first = dir.directory("first");
    std::string second = dir.directory("second");
    std::string third = dir.directory("third");
    std::string plain = dir.file("second/prog", script, 0644);
    dir.directory("third/prog");
    std::string path = first + ":" + second + ":" + third;
    Failure failure = failure_of([&] { find_program("prog", path.c_str()); });
    BOOST_TEST(failure.status() == exit_cannot_run);
    BOOST_TEST(failure.subject() == plain);
    BOOST_TEST(failure.detail() == std::strerror(EACCES));

    std::string only_directory = third;
    Failure directory = failure_of([&] { find_program("prog", only_directory.c_str()); });
    BOOST_TEST(directory.status() == exit_cannot_run);
    BOOST_TEST(directory.subject() == third + "/prog");
}

BOOST_AUTO_TEST_CASE(nothing_found_is_127_naming_the_program) {
    TempDir dir;
    std::string path = dir.path + ":/nonexistent";
    Failure failure = failure_of([&] { find_program("no-such-program", path.c_str()); });
    BOOST_TEST(failure.status() == exit_not_found);
    BOOST_TEST(failure.subject() == "no-such-program");

    Failure empty = failure_of([] { find_program("", "/bin:/usr/bin"); });
    BOOST_TEST(empty.status() == exit_not_found);
}

BOOST_AUTO_TEST_CASE(empty_path_elements_mean_the_current_directory) {
    TempDir dir;
    std::string elsewhere = dir.directory("elsewhere");
    dir.file("prog", script, 0755);
    CwdGuard cwd;
    BOOST_TEST_REQUIRE(::chdir(dir.path.c_str()) == 0);
    std::string leading = ":" + elsewhere;
    std::string trailing = elsewhere + ":";
    std::string middle = elsewhere + "::/nonexistent";
    BOOST_TEST(find_program("prog", leading.c_str()) == "./prog");
    BOOST_TEST(find_program("prog", trailing.c_str()) == "./prog");
    BOOST_TEST(find_program("prog", middle.c_str()) == "./prog");
    BOOST_TEST(find_program("prog", "") == "./prog");
    // Without an empty element the current directory is not searched.
    BOOST_TEST(failure_of([&] { find_program("prog", elsewhere.c_str()); }).status() ==
               exit_not_found);
}

BOOST_AUTO_TEST_CASE(an_unset_path_is_the_system_default_never_the_current_directory) {
    std::string found = find_program("sh", nullptr);
    std::string directory = found.substr(0, found.rfind('/'));
    std::string search = ":" + default_search_path() + ":";
    BOOST_TEST(search.find(":" + directory + ":") != std::string::npos,
               found << " is not in the default path");

    TempDir dir;
    dir.file("toolkit-exec-test-prog", script, 0755);
    CwdGuard cwd;
    BOOST_TEST_REQUIRE(::chdir(dir.path.c_str()) == 0);
    Failure failure = failure_of([] { find_program("toolkit-exec-test-prog", nullptr); });
    BOOST_TEST(failure.status() == exit_not_found);
}

BOOST_AUTO_TEST_CASE(exec_runs_the_program_with_the_environment_given) {
    std::string sh = find_program("sh", nullptr);
    char arg0[] = "sh", arg1[] = "-c",
         arg2[] = "test \"$TOOLKIT_X\" = 'a b' && test -z \"$HOME\" && exit 7";
    char* argv[] = {arg0, arg1, arg2, nullptr};
    char env0[] = "TOOLKIT_X=a b";
    char* envp[] = {env0, nullptr};
    BOOST_TEST(in_child([&] { exec_program(sh, argv, envp); }).status == 7);
}

BOOST_AUTO_TEST_CASE(exec_failures_are_126_or_127) {
    TempDir dir;
    char arg0[] = "prog";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    auto exec_status = [&](const std::string& path) {
        return in_child([&] { exec_program(path, argv, envp); }).status;
    };
    BOOST_TEST(exec_status(dir.path + "/missing") == exit_not_found);
    BOOST_TEST(exec_status(dir.path + "/missing/prog") == exit_not_found);
    std::string plain = dir.file("plain", "", 0644);
    BOOST_TEST(exec_status(plain + "/prog") == exit_not_found); // ENOTDIR
    BOOST_TEST(exec_status(dir.directory("dir")) == exit_cannot_run);
    if (!root()) BOOST_TEST(exec_status(plain) == exit_cannot_run);
    BOOST_TEST(exec_status(dir.file("noexec", script, 0644)) == exit_cannot_run);
    // No /bin/sh fallback: a text file without "#!" cannot be executed.
    BOOST_TEST(exec_status(dir.file("no-shebang", "exit 0\n", 0755)) == exit_cannot_run);
    BOOST_TEST(exec_status(dir.file("garbage",
                                    std::string("\x7f"
                                                "ELF garbage"),
                                    0755)) == exit_cannot_run);
    // A "#!" line naming a missing interpreter: execve says ENOENT (or
    // ENOTDIR), but the file itself exists: it cannot be run, 126.
    BOOST_TEST(exec_status(dir.file("bad-interpreter", "#!/nonexistent/sh\n", 0755)) ==
               exit_cannot_run);
    BOOST_TEST(exec_status(dir.file("interpreter-under-a-file", "#!" + plain + "/sh\n", 0755)) ==
               exit_cannot_run);
    // And a script that works, for contrast.
    BOOST_TEST(exec_status(dir.file("good", "#!/bin/sh\nexit 5\n", 0755)) == 5);
}

namespace {

// "SUBJECT|DETAIL" of the failure exec_program throws for PATH, and its status.
std::pair<int, std::string> exec_failure(const std::string& path) {
    char arg0[] = "prog";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    ChildResult child = in_child([&] {
        try {
            exec_program(path, argv, envp);
        } catch (const Failure& failure) {
            if (!write_all(STDERR_FILENO, failure.subject() + "|" + failure.detail())) ::_exit(98);
            throw;
        }
    });
    return {child.status, child.err};
}

} // namespace

BOOST_AUTO_TEST_CASE(exec_failure_names_the_path) {
    TempDir dir;
    std::string path = dir.file("no-shebang", "exit 0\n", 0755);
    auto [status, text] = exec_failure(path);
    BOOST_TEST(status == exit_cannot_run);
    BOOST_TEST(text == path + "|" + std::strerror(ENOEXEC));
}

BOOST_AUTO_TEST_CASE(a_missing_interpreter_is_126_and_says_so) {
    TempDir dir;
    std::string path = dir.file("bad-interpreter", "#!/nonexistent/sh\n", 0755);
    auto [status, text] = exec_failure(path);
    BOOST_TEST(status == exit_cannot_run);
    BOOST_TEST(text == path + "|" + std::strerror(ENOENT) + std::string(interpreter_missing_hint));
    // A file that is really missing keeps 127 and no hint.
    auto [gone, gone_text] = exec_failure(dir.path + "/missing");
    BOOST_TEST(gone == exit_not_found);
    BOOST_TEST(gone_text == dir.path + "/missing|" + std::strerror(ENOENT));
}
