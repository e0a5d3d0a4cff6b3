// The chain: plan every in-process link first, then run them and exec the program at its end.
#pragma once

#include "applet.hpp"
#include "environment.hpp"
#include "readiness.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace toolkit {

class Chain {
  public:
    explicit Chain(char* const* initial_environment) : environment(initial_environment) {}

    // Plan the links that start with FIRST at ARGS[0] and go on for as long as
    // the next program is a bare applet name; then find the program that ends
    // the chain. Nothing is changed yet: any error stops the chain here.
    void plan(const AppletInfo& first, std::span<char* const> args);

    // Run every link in order, then execve the final program.
    [[noreturn]] void run();

    // For a link that forks (accept): in the child, run the links after the
    // current one and exec. A failure is reported and ends the child with
    // _exit; it never unwinds into the parent's code. Never inlined: where a
    // forked child's own work begins, a profiler (tests/bench) finds it here.
    [[noreturn, gnu::noinline]] void run_rest_in_child();

    // For a link that forks (accept), before each child: let the links after
    // the current one refresh their plan (Step::refresh) for the child to inherit.
    void refresh_rest();

    // What the listen links of the chain asked for, together (nothing once signalled).
    const Readiness& readiness() const { return readiness_; }

    // Tell the supervisor, once, that the chain is ready: at the last moment
    // it can still fail before it serves. The chain calls it just before the
    // final execve; a link that never returns (an accept link) calls it when
    // its listeners are taken and checked and it is about to serve. A second
    // call, and any call in a forked child, does nothing. Throws as
    // announce_readiness(), naming the listen link that asked.
    void signal_readiness();

    // True when no in-process link follows the one running now.
    bool at_last_link() const { return position_ + 1 >= links_.size(); }
    const std::string& program_path() const { return program_path_; }
    char* const* program_argv() const { return program_argv_; }

    // Something to undo if the chain fails before the final execve
    // (a socket node we created, say). A forked child forgets them.
    void on_failure(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
    void forget_failure_actions() { undo_.clear(); }
    void run_failure_actions();

    PendingEnvironment environment;

  private:
    struct Link {
        const AppletInfo* applet;
        std::unique_ptr<Step> step;
    };
    void enter(const Link& link);
    [[noreturn]] void run_from(std::size_t index);

    void gather_readiness();

    std::vector<Link> links_;
    std::size_t position_ = 0;
    Readiness readiness_;
    std::size_t asked_by_ = 0; // the last link that asked for readiness: it names a failure
    std::string program_path_;
    char* const* program_argv_ = nullptr;
    bool look_again_ = false; // a link changes where the final program is found
    std::vector<std::function<void()>> undo_;
};

} // namespace toolkit
