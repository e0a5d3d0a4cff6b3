// Starting the child of one connection: the final program on the connection, with the signal state
// the server inherited.
#pragma once

#include <csignal>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace toolkit {

// What a server changed in its own signal state, and a child must get back.
struct ChildSignals {
    sigset_t mask{};              // the mask the server inherited
    bool sigchld_ignored = false; // SIGCHLD was ignored: the server un-ignored it for itself
    bool sigpipe_default = false; // SIGPIPE had its default action: the server ignores it
};

// Give the calling process (a forked child) the signal state SIGNALS describes.
void restore_signals(const ChildSignals& signals);

// The variables of one connection, NAME=value, laid end to end in one buffer.
class ConnectionVariables {
  public:
    void clear() {
        text_.clear();
        ends_.clear();
    }
    void add(std::string_view name, std::string_view value);
    std::size_t count() const { return ends_.size(); }
    // Valid until the next change.
    char* entry(std::size_t i) { return text_.data() + (i == 0 ? 0 : ends_[i - 1]); }

  private:
    std::string text_;
    std::vector<std::size_t> ends_;
};

// What a connection's child executes.
struct ExecRequest {
    const char* path;
    char* const* argv;
    std::span<char* const> base_environment; // the same for every connection
    ConnectionVariables* variables;          // added after it; copied by start()
    int connection;                          // becomes descriptors 0 and 1
    const ChildSignals* signals;
};

// Starts children that execute a program. Where it can (x86-64, not under
// Valgrind) a child shares the server's memory until its execve and runs on
// one of a few stacks kept here, so that starting it copies nothing and the
// server goes back to accepting at once; otherwise, and whenever every stack
// is in use, the child is a fork. Either way it starts in the same state.
class Spawner {
  public:
    // SHARE_MEMORY false: every child is a fork.
    explicit Spawner(bool share_memory = true);
    // Waits until no child still reads memory of ours.
    ~Spawner();
    Spawner(const Spawner&) = delete;
    Spawner& operator=(const Spawner&) = delete;

    // The child's pid, or -1 with errno (no processes or memory left).
    pid_t start(const ExecRequest& request);

    // Whether the next child may share our memory.
    bool shares_memory() const;

  private:
    struct Slots;
    std::unique_ptr<Slots> slots_; // none: every child is a fork
    bool refused_ = false;         // the system refused a child sharing our memory
    std::vector<char*> fork_envp_; // a forked child's whole environment
};

// For a child that cannot go on: one "APPLET: FATAL: SUBJECT: DESCRIPTION-OF-ERRHINT"
// line on descriptor 2, written without allocating, then _exit(STATUS).
[[noreturn]] void child_fatal(std::string_view subject, int err, int status,
                              std::string_view hint = {});

} // namespace toolkit
