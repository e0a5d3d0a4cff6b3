// What an applet declares: its syntax, and a planner that turns a command line into a Step.
#pragma once

#include "options.hpp"

#include <memory>
#include <span>
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
    // readiness.hpp); the chain signals it once, after its last such link.
    virtual const Readiness* readiness() const { return nullptr; }
};

// One applet's command line while it is being planned: options, then operands,
// then the next program.
class Invocation {
  public:
    Invocation(const CommandSyntax& syntax, std::span<char* const> args);

    const ParsedOptions& options() const { return line_.options; }
    // The next operand; a usage error "missing WHAT" when there is none.
    std::string_view operand(std::string_view what);
    int fd_operand(std::string_view what);
    // Index of NEXT-PROG in the arguments; a usage error when it is missing.
    std::size_t next_program() const;

  private:
    std::span<char* const> args_;
    CommandLine line_;
    std::size_t cursor_;
};

struct AppletInfo {
    CommandSyntax syntax;
    std::unique_ptr<Step> (*plan)(Invocation& invocation);
};

} // namespace toolkit
