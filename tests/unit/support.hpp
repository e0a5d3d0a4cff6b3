// What several unit tests need: the Failure a piece of code throws, code run in a
// child or with stderr captured, an owned argv, and a scratch directory.
#pragma once

#include "diagnostics.hpp"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <initializer_list>
#include <poll.h>
#include <span>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace toolkit::testing {

// The Failure BODY throws; the test fails when it throws none.
template <typename Body> Failure failure_of(Body body) {
    try {
        body();
    } catch (const Failure& failure) {
        return failure;
    }
    BOOST_FAIL("no failure was thrown");
    return Failure(0, "", "");
}

// Each write(2) made into descriptor FD goes to its own record: a SOCK_SEQPACKET
// pair keeps the boundaries a pipe would merge, so "one message is one write" can
// be checked.
struct WriteRecorder {
    WriteRecorder() {
        BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) == 0);
    }
    ~WriteRecorder() {
        close_writer();
        ::close(ends[0]);
    }
    WriteRecorder(const WriteRecorder&) = delete;
    WriteRecorder& operator=(const WriteRecorder&) = delete;

    int writer() const { return ends[1]; }
    void close_writer() {
        if (ends[1] >= 0) ::close(ends[1]);
        ends[1] = -1;
    }
    // Every record, until every writer has closed its end or DEADLINE (a
    // CLOCK_MONOTONIC second) has passed; call it after close_writer().
    std::vector<std::string> records(time_t deadline) {
        std::vector<std::string> writes;
        std::vector<char> buffer(1 << 18); // more than a record can hold
        for (;;) {
            timespec now;
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec >= deadline) {
                BOOST_TEST_MESSAGE("a writer was still open at the deadline");
                break;
            }
            pollfd readable{ends[0], POLLIN, 0};
            int ready = ::poll(&readable, 1, static_cast<int>(deadline - now.tv_sec) * 1000);
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) break;
            ssize_t n = ::recv(ends[0], buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break; // every writer closed its end
            writes.emplace_back(buffer.data(), static_cast<std::size_t>(n));
        }
        return writes;
    }
    int ends[2] = {-1, -1};
};

inline time_t seconds_from_now(unsigned seconds) {
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + static_cast<time_t>(seconds);
}

inline std::string joined(const std::vector<std::string>& writes) {
    std::string text;
    for (const auto& w : writes)
        text += w;
    return text;
}

// How a child run by in_child() ended, and what it wrote to stderr.
struct ChildResult {
    // Its exit status (a thrown Failure's status; 0 when BODY returned), or
    // 1000 + the signal that killed it.
    int status;
    std::string err;                 // all it wrote to stderr
    std::vector<std::string> writes; // the same, one string per write(2)
};

// Runs BODY in a forked child with stderr captured; an alarm kills a child that
// hangs, so a test fails instead of blocking. BODY may also end by exec or _exit.
template <typename Body> ChildResult in_child(Body body, unsigned seconds = 20) {
    WriteRecorder recorder;
    pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        // Boost.Test's handlers would report these in the child as its own failures.
        ::signal(SIGALRM, SIG_DFL);
        ::signal(SIGABRT, SIG_DFL);
        ::alarm(seconds);
        ::dup2(recorder.writer(), STDERR_FILENO);
        int status = 0;
        try {
            body();
        } catch (const Failure& failure) {
            status = failure.status();
        } catch (...) {
            status = 99;
        }
        ::_exit(status);
    }
    recorder.close_writer();
    ChildResult result{};
    result.writes = recorder.records(seconds_from_now(seconds + 5));
    result.err = joined(result.writes);
    int status;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) BOOST_FAIL("waitpid failed");
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    return result;
}

// Runs BODY in this process with descriptor FD captured; one string per write(2)
// made to it. BODY must write less than a socket buffer holds (some 200 KB).
template <typename Body> std::vector<std::string> capture_writes(int fd, Body body) {
    WriteRecorder recorder;
    int saved = ::dup(fd);
    BOOST_TEST_REQUIRE(saved >= 0);
    ::dup2(recorder.writer(), fd);
    recorder.close_writer();
    struct Restore {
        int fd, saved;
        ~Restore() {
            ::dup2(saved, fd);
            ::close(saved);
        }
    };
    {
        Restore restore{fd, saved};
        body();
    }
    return recorder.records(seconds_from_now(5));
}

// What in-process code writes to stderr, one string per write(2).
template <typename Body> std::vector<std::string> capture_stderr(Body body) {
    return capture_writes(STDERR_FILENO, body);
}

// An argv that owns its strings: span() is the words, and a null pointer follows them.
struct Args {
    Args(std::initializer_list<std::string> words) : strings(words) {
        for (auto& s : strings)
            pointers.push_back(s.data());
        pointers.push_back(nullptr);
    }
    std::span<char* const> span() const { return {pointers.data(), pointers.size() - 1}; }
    std::vector<std::string> strings;
    std::vector<char*> pointers;
};

// A fresh private directory, removed with what is in it.
struct TempDir {
    TempDir() {
        char name[] = "/tmp/toolkit-unit-test.XXXXXX";
        BOOST_TEST_REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() {
        std::string command = "rm -rf '" + path + "'";
        if (std::system(command.c_str()) != 0) BOOST_TEST_MESSAGE("could not remove " << path);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name, const std::string& content, mode_t mode) const {
        std::string full = path + "/" + name;
        int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()));
        ::close(fd);
        BOOST_TEST_REQUIRE(::chmod(full.c_str(), mode) == 0);
        return full;
    }
    std::string directory(const std::string& name) const {
        std::string full = path + "/" + name;
        BOOST_TEST_REQUIRE(::mkdir(full.c_str(), 0755) == 0);
        return full;
    }
    std::string path;
};

} // namespace toolkit::testing
