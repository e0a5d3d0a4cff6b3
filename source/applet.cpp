// Operands and the next program of one applet's command line.
#include "applet.hpp"

#include "diagnostics.hpp"
#include "numbers.hpp"

namespace toolkit {

Invocation::Invocation(const CommandSyntax& syntax, std::span<char* const> args,
                       PlannedChanges* planned)
    : args_(args), line_(parse_command_line(syntax, args)), cursor_(line_.first_operand),
      planned_(planned) {}

PlannedChanges& Invocation::planned() {
    // Planned on its own (a unit test): nothing before it, and an empty environment.
    if (!planned_) planned_ = (own_planned_ = std::make_unique<PlannedChanges>(nullptr)).get();
    return *planned_;
}

std::string_view Invocation::operand(std::string_view what) {
    if (cursor_ >= args_.size()) throw usage_error(std::string(what), "missing operand");
    return args_[cursor_++];
}

std::string_view Invocation::path_operand(std::string_view what) {
    std::string_view path = operand(what);
    if (path.empty()) throw usage_error(std::string(what), "empty path");
    return path;
}

int Invocation::fd_operand(std::string_view what) {
    std::string_view text = operand(what);
    return parse_fd(what, text);
}

std::size_t Invocation::next_program() const {
    if (cursor_ >= args_.size()) throw usage_error("NEXT-PROG", "missing next program");
    return cursor_;
}

} // namespace toolkit
