// umask: set the file mode creation mask, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "numbers.hpp"

#include <string>
#include <sys/stat.h>

namespace toolkit::applets {

namespace {

class SetMask : public Step {
  public:
    explicit SetMask(mode_t mask) : mask_(mask) {}
    void run(Chain&) override { ::umask(mask_); }

  private:
    mode_t mask_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string_view text = invocation.operand("MASK");
    auto mask = static_cast<mode_t>(parse_number("MASK", text, 0, 0777));
    // "umask 22" is decimal 22, 026: almost certainly not what was meant.
    // The hint only where "0" + TEXT is an octal number ("08" is no number at all).
    if (mask > 7 && read_c_number(text)->base == NumberBase::decimal) {
        std::string message = std::string(text) + " is decimal";
        if (text.find_first_of("89") == std::string_view::npos)
            message.append("; write 0").append(text).append(" if octal was meant");
        warning("MASK", message);
    }
    return std::make_unique<SetMask>(mask);
}

} // namespace

extern const AppletInfo umask{
    {"umask",
     "MASK NEXT-PROG [ARGS...]",
     "Set the file mode creation mask to MASK (a C number: 027), then run NEXT-PROG.",
     {}},
    plan,
};

} // namespace toolkit::applets
