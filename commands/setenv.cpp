// setenv: set one environment variable, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"

#include <string>

namespace toolkit::applets {

namespace {

class SetVariable : public Step {
  public:
    SetVariable(std::string_view name, std::string_view value) : name_(name), value_(value) {}
    void run(Chain& chain) override { chain.environment.set(name_, value_); }

  private:
    std::string_view name_, value_; // in the argument vector, which outlives the chain
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string_view name = invocation.operand("VAR");
    std::string_view value = invocation.operand("VALUE");
    if (name.empty() || name.find('=') != std::string_view::npos)
        throw usage_error("VAR", "not a variable name: \"" + std::string(name) + "\"");
    invocation.planned().environment.set(name, value);
    return std::make_unique<SetVariable>(name, value);
}

} // namespace

extern const AppletInfo setenv{
    {"setenv",
     "VAR VALUE NEXT-PROG [ARGS...]",
     "Set the environment variable VAR to VALUE, then run NEXT-PROG.",
     {}},
    plan,
};

} // namespace toolkit::applets
