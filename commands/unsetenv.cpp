// unsetenv: remove one environment variable, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"

#include <string>

namespace toolkit::applets {

namespace {

class UnsetVariable : public Step {
  public:
    explicit UnsetVariable(std::string_view name) : name_(name) {}
    void run(Chain& chain) override { chain.environment.unset(name_); }

  private:
    std::string_view name_; // in the argument vector, which outlives the chain
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string_view name = invocation.operand("VAR");
    if (name.empty() || name.find('=') != std::string_view::npos)
        throw usage_error("VAR", "not a variable name: \"" + std::string(name) + "\"");
    invocation.planned().environment.unset(name);
    return std::make_unique<UnsetVariable>(name);
}

} // namespace

extern const AppletInfo unsetenv{
    {"unsetenv",
     "VAR NEXT-PROG [ARGS...]",
     "Remove the environment variable VAR (every copy of it), then run NEXT-PROG.",
     {}},
    plan,
};

} // namespace toolkit::applets
