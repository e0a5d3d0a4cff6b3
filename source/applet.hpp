// What an applet declares: its syntax, and a planner that turns a command line into a Step.
#pragma once

#include "environment.hpp"
#include "options.hpp"

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace toolkit {

class Chain;

// One link's work, planned before any link acts. run() returns when the link
// is done and the chain goes on; it throws a Failure when it cannot be done.
struct Readiness;

class Step {
  public:
    virtual ~Step() = default;
    virtual void run(Chain& chain) = 0;
    // A link that listens says what readiness it was asked to signal (see
    // readiness.hpp); the chain signals it once (Chain::signal_readiness).
    virtual const Readiness* readiness() const { return nullptr; }
    // In a server (an accept link before this one), just before each child
    // that will run this link starts: bring what was planned up to date, so
    // that every child inherits it instead of redoing it (see Chain::refresh_rest).
    virtual void refresh() {}
};

// What the links planned so far will have changed by the time the final
// program is looked up: it is searched for with the environment it will get,
// in the root and working directory it will run in. A link that changes one of
// these says so here while it is planned, and does it when it runs. So does a
// link after which the rest of the chain runs in another process.
struct PlannedChanges {
    explicit PlannedChanges(char* const* initial) : environment(initial) {}
    PendingEnvironment environment; // the final program's, as far as planning can tell
    std::string root;               // the new root as a path seen from here; empty: unchanged
    std::string directory;          // the working directory inside the root; empty: unchanged
    bool look_again = false;        // a link only knows when it runs (envdir): search again then
    bool per_connection = false;    // a link runs the rest in a new process per connection (accept)
    bool group_leader = false;      // a setsid link will have made this process one
};

// One applet's command line while it is being planned: options, then operands,
// then the next program.
class Invocation {
  public:
    // PLANNED: the changes of the links before this one (null: a chain of one link).
    Invocation(const CommandSyntax& syntax, std::span<char* const> args,
               PlannedChanges* planned = nullptr);

    const ParsedOptions& options() const { return line_.options; }
    // The next operand; a usage error "missing WHAT" when there is none.
    std::string_view operand(std::string_view what);
    // The same for a file name: an empty one is a usage error naming WHAT.
    std::string_view path_operand(std::string_view what);
    int fd_operand(std::string_view what);
    // Index of NEXT-PROG in the arguments; a usage error when it is missing.
    std::size_t next_program() const;
    // Where this link declares what it will change.
    PlannedChanges& planned();

  private:
    std::span<char* const> args_;
    CommandLine line_;
    std::size_t cursor_;
    PlannedChanges* planned_;
    std::unique_ptr<PlannedChanges> own_planned_;
};

struct AppletInfo {
    CommandSyntax syntax;
    std::unique_ptr<Step> (*plan)(Invocation& invocation);
};

} // namespace toolkit
