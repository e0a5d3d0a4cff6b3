#define BOOST_TEST_MODULE spawn
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "spawn.hpp"
#include "support.hpp"

#include <cerrno>
#include <csignal>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace toolkit;
using toolkit::testing::TempDir;

namespace {

// Both ways a child starts: sharing our memory (where it can) and forked.
const bool share_modes[] = {true, false};

std::string read_to_end(int fd) {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

int wait_status(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// One child started on one end of a socket pair, running ARGV with VARIABLES
// after BASE: what it wrote on the connection, on descriptor 2, and its status.
struct Outcome {
    std::string output;
    std::string errors;
    int status;
};

Outcome run_child(Spawner& spawner, std::vector<std::string> argv_words,
                  ConnectionVariables& variables, const ChildSignals& signals,
                  const std::string& input = "") {
    int pair[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    int errors[2];
    BOOST_TEST_REQUIRE(::pipe2(errors, O_CLOEXEC) == 0);
    std::vector<char*> argv;
    for (auto& word : argv_words) {
        // "{connection}" stands for the descriptor the child was given.
        if (auto at = word.find("{connection}"); at != std::string::npos)
            word.replace(at, 12, std::to_string(pair[1]));
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    std::string base_entry = "BASE=from the server";
    std::vector<char*> base{base_entry.data()};

    // The child's descriptor 2 is ours: point it at the pipe while it starts.
    int saved = ::dup(STDERR_FILENO);
    ::dup2(errors[1], STDERR_FILENO);
    pid_t pid =
        spawner.start(ExecRequest{argv[0], argv.data(), base, &variables, pair[1], &signals});
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(errors[1]);
    ::close(pair[1]);
    BOOST_TEST_REQUIRE(pid > 0);
    if (!input.empty()) BOOST_TEST_REQUIRE(write_all(pair[0], input));
    ::shutdown(pair[0], SHUT_WR);
    Outcome outcome{read_to_end(pair[0]), read_to_end(errors[0]), wait_status(pid)};
    ::close(pair[0]);
    ::close(errors[0]);
    return outcome;
}

ChildSignals plain_signals() {
    ChildSignals signals;
    sigemptyset(&signals.mask);
    return signals;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_child_runs_on_the_connection_with_its_environment) {
    for (bool share : share_modes) {
        BOOST_TEST_CONTEXT("sharing memory allowed: " << share) {
            Spawner spawner(share);
            ConnectionVariables variables;
            variables.add("PROTO", "UNIX");
            variables.add("EMPTY", "");
            Outcome got = run_child(
                spawner,
                {"/bin/sh", "-c", "read line; echo \"$line|$BASE|$PROTO|${EMPTY-unset}|\""},
                variables, plain_signals(), "hello\n");
            BOOST_TEST(got.status == 0);
            BOOST_TEST(got.errors == "");
            BOOST_TEST(got.output == "hello|from the server|UNIX||\n");
        }
    }
}

BOOST_AUTO_TEST_CASE(the_connection_is_on_0_and_1_only) {
    for (bool share : share_modes) {
        BOOST_TEST_CONTEXT("sharing memory allowed: " << share) {
            Spawner spawner(share);
            ConnectionVariables variables;
            Outcome got =
                run_child(spawner,
                          {"/bin/sh", "-c",
                           "[ \"$(readlink /proc/$$/fd/0)\" = \"$(readlink /proc/$$/fd/1)\" ] && "
                           "readlink /proc/self/fd/0 | cut -c1-7; "
                           "[ -e /proc/self/fd/{connection} ] && echo open || echo closed"},
                          variables, plain_signals());
            BOOST_TEST(got.status == 0);
            // The descriptor we handed over is closed at the execve (close-on-exec).
            BOOST_TEST(got.output == "socket:\nclosed\n");
        }
    }
}

// Every catchable signal at its default action while it lives, whatever this
// test program inherited (a shell started in the background ignores SIGINT
// and SIGQUIT, nohup SIGHUP): what a child inherits is then known exactly.
class DefaultDispositions {
  public:
    DefaultDispositions() {
        struct sigaction plain {};
        plain.sa_handler = SIG_DFL;
        for (int signal = 1; signal < NSIG; ++signal)
            ::sigaction(signal, &plain, &saved_[signal]);
    }
    ~DefaultDispositions() {
        for (int signal = 1; signal < NSIG; ++signal)
            ::sigaction(signal, &saved_[signal], nullptr);
    }
    DefaultDispositions(const DefaultDispositions&) = delete;
    DefaultDispositions& operator=(const DefaultDispositions&) = delete;

  private:
    struct sigaction saved_[NSIG] {};
};

BOOST_AUTO_TEST_CASE(the_child_gets_the_inherited_signal_state_back) {
    DefaultDispositions plain_start;
    // The server (this process) ignores SIGPIPE and blocks SIGCHLD for itself.
    struct sigaction ignore {
    }, old_pipe{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old_pipe);
    ChildSignals signals = plain_signals();
    sigaddset(&signals.mask, SIGUSR2); // as if the server had inherited SIGUSR2 blocked
    signals.sigpipe_default = true;
    signals.sigchld_ignored = true;
    for (bool share : share_modes) {
        BOOST_TEST_CONTEXT("sharing memory allowed: " << share) {
            Spawner spawner(share);
            ConnectionVariables variables;
            Outcome got = run_child(
                spawner, {"/bin/sed", "-n", "s/^Sig\\(Blk\\|Ign\\):\\t*//p", "/proc/self/status"},
                variables, signals);
            BOOST_TEST(got.status == 0);
            // SigBlk: SIGUSR2 (12) only; SigIgn: SIGCHLD (17) only, SIGPIPE (13) not.
            BOOST_TEST(got.output == "0000000000000800\n0000000000010000\n");
        }
    }
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
}

BOOST_AUTO_TEST_CASE(a_missing_program_is_127_with_one_message) {
    set_program_name("lstream-accept");
    for (bool share : share_modes) {
        BOOST_TEST_CONTEXT("sharing memory allowed: " << share) {
            Spawner spawner(share);
            ConnectionVariables variables;
            Outcome got = run_child(spawner, {"/nonexistent/handler"}, variables, plain_signals());
            BOOST_TEST(got.status == 127);
            BOOST_TEST(got.errors ==
                       "lstream-accept: FATAL: /nonexistent/handler: No such file or directory\n");
        }
    }
    set_program_name("toolkit");
}

BOOST_AUTO_TEST_CASE(a_script_whose_interpreter_is_missing_is_126_and_says_so) {
    TempDir dir;
    std::string script = dir.file("script", "#!/nonexistent/interpreter\n", 0755);
    set_program_name("lstream-accept");
    for (bool share : share_modes) {
        BOOST_TEST_CONTEXT("sharing memory allowed: " << share) {
            Spawner spawner(share);
            ConnectionVariables variables;
            Outcome got = run_child(spawner, {script}, variables, plain_signals());
            BOOST_TEST(got.status == 126);
            BOOST_TEST(
                got.errors ==
                "lstream-accept: FATAL: " + script +
                    ": No such file or directory (its #! interpreter or loader was not found)\n");
        }
    }
    set_program_name("toolkit");
}

BOOST_AUTO_TEST_CASE(a_file_that_cannot_be_executed_is_126) {
    TempDir dir;
    std::string data = dir.file("data", "not a program\n", 0644);
    Spawner spawner;
    ConnectionVariables variables;
    Outcome got = run_child(spawner, {data}, variables, plain_signals());
    BOOST_TEST(got.status == 126);
    BOOST_TEST(got.errors.find(": Permission denied\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(more_children_at_once_than_stacks) {
    // Children that have not exec'd yet hold their stacks: with more of
    // them than stacks, the others must fork, and every one must run.
    Spawner spawner;
    ChildSignals signals = plain_signals();
    std::vector<std::pair<pid_t, int>> started;
    std::string sh = "/bin/sh", flag = "-c", script = "read x; echo \"$N $x\"";
    char* argv[] = {sh.data(), flag.data(), script.data(), nullptr};
    for (int i = 0; i < 20; ++i) {
        int pair[2];
        BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        ConnectionVariables variables;
        variables.add("N", std::to_string(i));
        pid_t pid = spawner.start(ExecRequest{argv[0], argv, {}, &variables, pair[1], &signals});
        ::close(pair[1]);
        BOOST_TEST_REQUIRE(pid > 0);
        started.emplace_back(pid, pair[0]);
    }
    for (std::size_t i = 0; i < started.size(); ++i) {
        auto [pid, fd] = started[i];
        BOOST_TEST_REQUIRE(write_all(fd, "go\n"));
        BOOST_TEST(read_to_end(fd) == std::to_string(i) + " go\n");
        ::close(fd);
        BOOST_TEST(wait_status(pid) == 0);
    }
}

BOOST_AUTO_TEST_CASE(connection_variables_are_laid_end_to_end) {
    ConnectionVariables variables;
    variables.add("A", "1");
    variables.add("LONGER", "two words");
    BOOST_TEST_REQUIRE(variables.count() == 2u);
    BOOST_TEST(std::string(variables.entry(0)) == "A=1");
    BOOST_TEST(std::string(variables.entry(1)) == "LONGER=two words");
    variables.clear();
    BOOST_TEST(variables.count() == 0u);
}
