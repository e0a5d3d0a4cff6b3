#define BOOST_TEST_MODULE chain
#include <boost/test/unit_test.hpp>

#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "readiness.hpp"
#include "registry.hpp"

#include "support.hpp"
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <initializer_list>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

// A first link for the tests: it takes no options or operands, counts how
// often it was planned and run, and runs whatever the test wants.
int planned = 0;
int ran = 0;
std::function<void(Chain&)> probe_action;

class ProbeStep : public Step {
  public:
    void run(Chain& chain) override {
        ++ran;
        if (probe_action) probe_action(chain);
    }
};

std::unique_ptr<Step> plan_probe(Invocation&) {
    ++planned;
    return std::make_unique<ProbeStep>();
}

const AppletInfo probe{{"probe", "NEXT-PROG [ARGS...]", "Record what happens.", {}}, plan_probe};
const AppletInfo long_probe{
    {"a-very-long-probe-name", "NEXT-PROG [ARGS...]", "Record what happens.", {}}, plan_probe};

// The probe as a listen link that asked for readiness on descriptor ready_fd.
int ready_fd = -1;

class ReadyProbeStep : public ProbeStep {
  public:
    ReadyProbeStep() { readiness_.notify_fd = ready_fd; }
    const Readiness* readiness() const override { return &readiness_; }

  private:
    Readiness readiness_;
};

std::unique_ptr<Step> plan_ready_probe(Invocation&) {
    ++planned;
    return std::make_unique<ReadyProbeStep>();
}

const AppletInfo ready_probe{{"ready-probe", "NEXT-PROG [ARGS...]", "Ask for readiness.", {}},
                             plan_ready_probe};

// What is in the pipe FD reads from now, without waiting.
std::string waiting_in(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    char buffer[16];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    ::fcntl(fd, F_SETFL, flags);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

struct Reset {
    Reset() {
        planned = ran = 0;
        probe_action = nullptr;
        set_program_name("toolkit");
    }
    ~Reset() {
        probe_action = nullptr;
        set_program_name("toolkit");
    }
};

// argv-like words, null-terminated as the kernel hands them over.
struct Pipe {
    Pipe() { BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
    ~Pipe() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    // Everything written until every write end is closed; call after the writers ended.
    std::string drain() {
        ::close(fds[1]);
        fds[1] = -1;
        std::string text;
        char buffer[4096];
        for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
            text.append(buffer, static_cast<std::size_t>(n));
        return text;
    }
    int fds[2];
};

void say(int fd, const std::string& text) {
    if (!write_all(fd, text)) ::_exit(98);
}

// What main() does with a chain: plan, run, and on failure undo and report.
[[noreturn]] void run_like_main(Chain& chain, const AppletInfo& first, std::span<char* const> args,
                                int report_fd) {
    try {
        chain.plan(first, args);
        chain.run();
    } catch (const Failure& failure) {
        chain.run_failure_actions();
        say(report_fd, std::to_string(failure.status()) + "|" + failure.subject());
        ::_exit(failure.status());
    }
}

const std::string system_path = "PATH=/usr/bin:/bin";

} // namespace

BOOST_AUTO_TEST_CASE(plan_finds_the_final_program_in_the_pending_path) {
    Reset reset;
    TempDir dir;
    std::string program = dir.file("toolkit-chain-prog", "#!/bin/sh\n", 0755);
    Args environment{"PATH=/nonexistent:" + dir.path};
    Chain chain(environment.pointers.data());
    Args args{"probe", "fdmove", "5", "1", "toolkit-chain-prog", "arg", "-c"};
    ::close(5);
    chain.plan(probe, args.span());
    BOOST_TEST(chain.program_path() == program);
    BOOST_TEST_REQUIRE(chain.program_argv() != nullptr);
    BOOST_TEST(std::string(chain.program_argv()[0]) == "toolkit-chain-prog");
    BOOST_TEST(std::string(chain.program_argv()[1]) == "arg");
    BOOST_TEST(std::string(chain.program_argv()[2]) == "-c");
    BOOST_TEST(chain.program_argv()[3] == nullptr);
    BOOST_TEST(planned == 1);
    BOOST_TEST(ran == 0);
    BOOST_TEST(!fd_is_open(5)); // planning changed nothing
}

BOOST_AUTO_TEST_CASE(several_in_process_links_plan_as_one) {
    Reset reset;
    Args environment{system_path};
    Chain chain(environment.pointers.data());
    Args args{"fdmove",    "5",   "1",      "fdmove", "-c", "6",   "2",
              "setuidgid", "0:0", "fdmove", "1",      "1",  "true"};
    ::close(5);
    ::close(6);
    chain.plan(*find_applet("fdmove"), args.span());
    BOOST_TEST(chain.program_path().ends_with("/true"));
    BOOST_TEST(std::string(chain.program_argv()[0]) == "true");
    BOOST_TEST(!fd_is_open(5));
    BOOST_TEST(!fd_is_open(6));
}

BOOST_AUTO_TEST_CASE(a_usage_error_in_a_later_link_stops_the_chain_before_anything_ran) {
    Reset reset;
    Args environment{system_path};
    for (std::initializer_list<std::string> words :
         {std::initializer_list<std::string>{"probe", "fdmove", "5", "1", "setuidgid", "--bogus",
                                             "nobody", "true"},
          {"probe", "fdmove", "5", "1", "fdmove", "x", "1", "true"},
          {"probe", "fdmove", "5"},
          {"probe", "fdmove", "5", "1"}, // fdmove is an applet here, so its NEXT-PROG is missing
          {"probe", "setuidgid", "-s", "0:0", "true"}}) {
        planned = ran = 0;
        Args args(words);
        Chain chain(environment.pointers.data());
        Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
        BOOST_TEST_CONTEXT("chain " << args.strings[1] << " " << args.strings[2] << " ...") {
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(planned == 1);
            BOOST_TEST(ran == 0);
        }
    }
    Args args{"probe", "fdmove", "5", "1", "setuidgid", "--bogus", "nobody", "true"};
    Chain chain(environment.pointers.data());
    Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
    BOOST_TEST(failure.subject().find("bogus") != std::string::npos);
    // The message will name the link that failed, not the first one.
    BOOST_TEST(program_name() == "setuidgid");
}

BOOST_AUTO_TEST_CASE(an_unknown_account_in_a_later_link_stops_the_chain) {
    Reset reset;
    Args environment{system_path};
    Args args{"probe", "setuidgid", "toolkit-no-such-user", "true"};
    Chain chain(environment.pointers.data());
    Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "toolkit-no-such-user");
    BOOST_TEST(ran == 0);
}

BOOST_AUTO_TEST_CASE(a_final_program_that_is_missing_is_127) {
    Reset reset;
    Args environment{system_path};
    Args args{"probe", "fdmove", "5", "1", "toolkit-no-such-program"};
    Chain chain(environment.pointers.data());
    Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
    BOOST_TEST(failure.status() == exit_not_found);
    BOOST_TEST(failure.subject() == "toolkit-no-such-program");
    BOOST_TEST(planned == 1);
    BOOST_TEST(ran == 0);

    // The PATH that counts is the pending environment's: here there is none to search.
    Args no_path{"TERM=dumb"};
    Args sh{"probe", "sh", "-c", "true"};
    Chain default_path(no_path.pointers.data());
    default_path.plan(probe, sh.span());
    BOOST_TEST(default_path.program_path().ends_with("/sh"));

    Args empty_dir{"PATH=/nonexistent"};
    Chain nowhere(empty_dir.pointers.data());
    BOOST_TEST(failure_of([&] { nowhere.plan(probe, sh.span()); }).status() == exit_not_found);
}

BOOST_AUTO_TEST_CASE(a_final_program_that_cannot_run_is_126) {
    Reset reset;
    TempDir dir;
    std::string plain = dir.file("plain", "#!/bin/sh\n", 0644);
    Args environment{"PATH=" + dir.path};
    for (std::string program : {plain, std::string("plain"), dir.path}) {
        Args args{"probe", "fdmove", "1", "1", program};
        Chain chain(environment.pointers.data());
        Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
        BOOST_TEST(failure.status() == exit_cannot_run);
        BOOST_TEST(failure.subject() == (program == dir.path ? dir.path : plain));
    }
    BOOST_TEST(ran == 0);
}

BOOST_AUTO_TEST_CASE(a_name_with_a_slash_is_never_an_applet) {
    Reset reset;
    TempDir dir;
    // In an empty directory: the build directory holds links named after the applets.
    char saved[4096];
    BOOST_TEST_REQUIRE(::getcwd(saved, sizeof saved) != nullptr);
    BOOST_TEST_REQUIRE(::chdir(dir.path.c_str()) == 0);
    Args environment{system_path};
    for (std::string program :
         {dir.path + "/fdmove", std::string("./fdmove"), std::string("fdmove/")}) {
        Args args{"probe", program, "1", "1", "true"};
        Chain chain(environment.pointers.data());
        Failure failure = failure_of([&] { chain.plan(probe, args.span()); });
        BOOST_TEST(failure.status() == exit_not_found);
        BOOST_TEST(failure.subject() == program);
    }
    BOOST_TEST_REQUIRE(::chdir(saved) == 0);
}

BOOST_AUTO_TEST_CASE(run_carries_out_the_links_then_execs_with_the_pending_environment) {
    Reset reset;
    Pipe output, report;
    ChildResult child = in_child([&] {
        std::string target = std::to_string(output.fds[1]);
        Args environment{system_path, "FOO=inherited", "KEEP=kept"};
        Args args{"probe", "fdmove", "1", target, "sh", "-c", "echo \"$FOO $KEEP\"; exit 3"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            char name[16] = {};
            ::prctl(PR_GET_NAME, name, 0, 0, 0);
            say(report.fds[1],
                std::string("name=") + name + " last=" + std::to_string(running.at_last_link()) +
                    " program=" + running.program_path() + " ran=" + std::to_string(ran));
            running.environment.set("FOO", "changed");
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 3);
    BOOST_TEST(output.drain() == "changed kept\n");
    std::string text = report.drain();
    BOOST_TEST(text.starts_with("name=probe last=0 program=/"));
    BOOST_TEST(text.ends_with("/sh ran=1"));
}

BOOST_AUTO_TEST_CASE(the_last_link_knows_it_is_last) {
    Reset reset;
    Pipe report;
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"probe", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            say(report.fds[1], "last=" + std::to_string(running.at_last_link()));
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(report.drain() == "last=1");
}

BOOST_AUTO_TEST_CASE(the_process_name_follows_the_link) {
    Reset reset;
    Pipe report;
    in_child([&] {
        Args environment{system_path};
        Args args{"a-very-long-probe-name", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain&) {
            char name[17] = {};
            ::prctl(PR_GET_NAME, name, 0, 0, 0);
            say(report.fds[1], name);
        };
        run_like_main(chain, long_probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(report.drain() == "a-very-long-pro");
}

BOOST_AUTO_TEST_CASE(a_failing_link_runs_the_undo_actions_in_reverse) {
    Reset reset;
    Pipe report;
    ::close(99);
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"probe", "fdmove", "1", "99", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            running.on_failure([&] { say(report.fds[1], "first-undone "); });
            running.on_failure([&] { say(report.fds[1], "second-undone "); });
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == exit_failure);
    BOOST_TEST(report.drain() == "second-undone first-undone 111|descriptor 99");
}

BOOST_AUTO_TEST_CASE(the_rest_of_the_chain_runs_in_a_forked_child) {
    Reset reset;
    Pipe output, report;
    ChildResult child = in_child([&] {
        std::string target = std::to_string(output.fds[1]);
        Args environment{system_path};
        Args args{"probe", "fdmove", "1", target, "sh", "-c", "echo from the child; exit 4"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            running.on_failure([&] { say(report.fds[1], "undone "); });
            pid_t pid = ::fork();
            if (pid == 0) running.run_rest_in_child();
            int child_status;
            ::waitpid(pid, &child_status, 0);
            say(report.fds[1], "child=" + std::to_string(WEXITSTATUS(child_status)));
            ::_exit(0); // the parent's part of the test ends here
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(output.drain() == "from the child\n");
    BOOST_TEST(report.drain() == "child=4");
}

BOOST_AUTO_TEST_CASE(a_failure_in_the_forked_child_is_reported_there_and_ends_it) {
    Reset reset;
    Pipe report;
    ::close(99);
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"probe", "fdmove", "1", "99", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            running.on_failure(
                [&] { say(report.fds[1], "undone-in-" + std::to_string(::getpid()) + " "); });
            pid_t pid = ::fork();
            if (pid == 0) running.run_rest_in_child();
            int child_status;
            ::waitpid(pid, &child_status, 0);
            say(report.fds[1], "child=" + std::to_string(WEXITSTATUS(child_status)));
            ::_exit(0);
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    // The child forgot the parent's undo actions: the parent still owns them.
    BOOST_TEST(report.drain() == "child=111");
    BOOST_TEST(child.err ==
               "fdmove: FATAL: descriptor 99: " + std::string(std::strerror(EBADF)) + "\n");
}

BOOST_AUTO_TEST_CASE(a_failure_in_the_forked_child_undoes_what_the_child_did_and_only_that) {
    // The parent's undo actions belong to the parent; what a link did in the
    // child (here: a socket node it created) is removed when the child fails.
    const AppletInfo* listen = find_applet("local-stream-socket-listen");
    if (!listen) {
        BOOST_TEST_MESSAGE(
            "no local-stream-socket-listen applet: nothing that creates a node in the child");
        return;
    }
    Reset reset;
    TempDir dir;
    Pipe report;
    ::close(99);
    std::string node = dir.path + "/s";
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"probe", "local-stream-socket-listen", node, "fdmove", "1", "99", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            running.on_failure([&] { say(report.fds[1], "parent-undo-in-child "); });
            pid_t pid = ::fork();
            if (pid == 0) running.run_rest_in_child();
            int child_status;
            ::waitpid(pid, &child_status, 0);
            say(report.fds[1], "child=" + std::to_string(WEXITSTATUS(child_status)));
            ::_exit(0);
        };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(report.drain() == "child=111");
    BOOST_TEST(child.err ==
               "fdmove: FATAL: descriptor 99: " + std::string(std::strerror(EBADF)) + "\n");
    struct stat st;
    BOOST_TEST(::lstat(node.c_str(), &st) < 0, node << " was left behind");
}

BOOST_AUTO_TEST_CASE(readiness_waits_for_the_end_of_the_chain) {
    Reset reset;
    Pipe notification, report;
    ready_fd = notification.fds[1];
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"ready-probe", "fdmove", "1", "1", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain&) {
            say(report.fds[1], "[" + waiting_in(notification.fds[0]) + "]");
        };
        run_like_main(chain, ready_probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(report.drain() == "[]", "nothing while the link that asked runs");
    BOOST_TEST(notification.drain() == "\n");
}

BOOST_AUTO_TEST_CASE(a_link_failing_after_the_one_that_asked_signals_nothing) {
    Reset reset;
    Pipe notification, report;
    ready_fd = notification.fds[1];
    ::close(99);
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"ready-probe", "fdmove", "1", "99", "true"};
        Chain chain(environment.pointers.data());
        run_like_main(chain, ready_probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == exit_failure);
    BOOST_TEST(report.drain() == "111|descriptor 99");
    BOOST_TEST(notification.drain() == "");
}

BOOST_AUTO_TEST_CASE(readiness_is_signalled_once_and_never_by_a_forked_child) {
    // As an accept link does: a child goes on with the chain, the server signals.
    Reset reset;
    Pipe notification, report;
    ready_fd = notification.fds[1];
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"ready-probe", "fdmove", "1", "1", "true"};
        Chain chain(environment.pointers.data());
        probe_action = [&](Chain& running) {
            pid_t pid = ::fork();
            if (pid == 0) running.run_rest_in_child();
            int child_status;
            ::waitpid(pid, &child_status, 0);
            say(report.fds[1], "child=" + std::to_string(WEXITSTATUS(child_status)) + " [" +
                                   waiting_in(notification.fds[0]) + "]");
            running.signal_readiness();
            running.signal_readiness();
            ::_exit(0);
        };
        run_like_main(chain, ready_probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(report.drain() == "child=0 []");
    BOOST_TEST(notification.drain() == "\n");
}

BOOST_AUTO_TEST_CASE(a_failed_signal_names_the_link_that_asked) {
    Reset reset;
    Pipe notification, report;
    ready_fd = notification.fds[1];
    ::close(notification.fds[0]); // nobody reads: EPIPE
    notification.fds[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ChildResult child = in_child([&] {
        Args environment{system_path};
        Args args{"ready-probe", "fdmove", "1", "1", "true"};
        Chain chain(environment.pointers.data());
        try {
            chain.plan(ready_probe, args.span());
            chain.run();
        } catch (const Failure& failure) {
            say(report.fds[1],
                std::string(program_name()) + "|" + failure.subject() + "|" + failure.detail());
            ::_exit(failure.status());
        }
    });
    BOOST_TEST(child.status == exit_failure);
    BOOST_TEST(report.drain() ==
               "ready-probe|--notify-fd " + descriptor_name(ready_fd) + "|" + std::strerror(EPIPE));
}

// What the links change about the final program is planned: PATH, directory, root.

BOOST_AUTO_TEST_CASE(a_path_set_earlier_in_the_chain_decides_the_search) {
    Reset reset;
    TempDir dir;
    std::string program = dir.file("toolkit-chain-only-here", "#!/bin/sh\n", 0755);
    Args environment{system_path};
    Args args{"probe", "setenv", "PATH", dir.path, "toolkit-chain-only-here"};
    Chain chain(environment.pointers.data());
    chain.plan(probe, args.span());
    BOOST_TEST(chain.program_path() == program);
    // Planning changed nothing: only the links' run() will.
    BOOST_TEST(std::string(chain.environment.get("PATH")) == "/usr/bin:/bin");

    Args unset{"probe", "setenv", "PATH", "/nonexistent", "true"};
    Chain hidden(environment.pointers.data());
    Failure failure = failure_of([&] { hidden.plan(probe, unset.span()); });
    BOOST_TEST(failure.status() == exit_not_found);
    BOOST_TEST(ran == 0);
}

BOOST_AUTO_TEST_CASE(a_relative_program_is_found_in_the_planned_directory) {
    Reset reset;
    TempDir dir;
    dir.directory("sub");
    dir.file("sub/prog", "#!/bin/sh\n", 0755);
    Args environment{"PATH=bin:/usr/bin:/bin"};
    Args args{"probe", "chdir", dir.path, "chdir", "sub", "./prog"};
    Chain chain(environment.pointers.data());
    chain.plan(probe, args.span());
    BOOST_TEST(chain.program_path() == "./prog"); // as execve will see it, after the chdir

    dir.directory("sub/bin");
    dir.file("sub/bin/relative-entry", "#!/bin/sh\n", 0755);
    Args searched{"probe", "chdir", dir.path + "/sub", "relative-entry"};
    Chain relative(environment.pointers.data());
    relative.plan(probe, searched.span());
    BOOST_TEST(relative.program_path() == "bin/relative-entry");

    Args missing{"probe", "chdir", "/", "./prog"};
    Chain elsewhere(environment.pointers.data());
    BOOST_TEST(failure_of([&] { elsewhere.plan(probe, missing.span()); }).status() ==
               exit_not_found);
}

BOOST_AUTO_TEST_CASE(the_final_program_is_looked_up_inside_a_new_root) {
    Reset reset;
    TempDir dir;
    dir.directory("bin");
    dir.directory("libexec");
    dir.file("libexec/real", "#!/bin/sh\n", 0755);
    // An absolute link: only right when resolved inside the root.
    BOOST_TEST_REQUIRE(::symlink("/libexec/real", (dir.path + "/bin/prog").c_str()) == 0);
    Args environment{"PATH=/bin"};
    Args args{"probe", "chroot", dir.path, "prog"};
    Chain chain(environment.pointers.data());
    chain.plan(probe, args.span());
    BOOST_TEST(chain.program_path() == "/bin/prog");

    // There outside the root, not inside it: 127, and nothing ran.
    for (const char* outside : {"/bin/sh", "sh", "../../bin/sh"}) {
        Args words{"probe", "chroot", dir.path, outside};
        Chain inside(environment.pointers.data());
        BOOST_TEST_CONTEXT(outside) {
            BOOST_TEST(failure_of([&] { inside.plan(probe, words.span()); }).status() ==
                       exit_not_found);
        }
    }
    BOOST_TEST(ran == 0);

    Args then_chdir{"probe", "chroot", dir.path, "chdir", "libexec", "./real"};
    Chain moved(environment.pointers.data());
    moved.plan(probe, then_chdir.span());
    BOOST_TEST(moved.program_path() == "./real");
}

BOOST_AUTO_TEST_CASE(the_program_is_searched_for_again_when_a_link_changed_the_search) {
    Reset reset;
    TempDir dir;
    dir.directory("first");
    dir.directory("second");
    dir.file("second/prog", "#!/bin/sh\necho second\n", 0755);
    Pipe output, report;
    ChildResult child = in_child([&] {
        ::dup2(output.fds[1], STDOUT_FILENO);
        Args environment{system_path};
        std::string path = dir.path + "/first:" + dir.path + "/second";
        Args args{"probe", "setenv", "PATH", path, "prog"};
        Chain chain(environment.pointers.data());
        // Between the plan and the execve a program of that name appears earlier in PATH.
        probe_action = [&](Chain&) { dir.file("first/prog", "#!/bin/sh\necho first\n", 0755); };
        run_like_main(chain, probe, args.span(), report.fds[1]);
    });
    BOOST_TEST(child.status == 0);
    BOOST_TEST(output.drain() == "first\n");
}
