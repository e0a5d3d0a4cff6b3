// The option layer: each applet declares a table of options; this parses a
// command line against it with Boost.ProgramOptions, chain-loader style.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace toolkit {

enum class OptionKind { flag, number, text };

struct OptionSpec {
    std::string_view long_name;
    char short_name; // 0: none
    OptionKind kind;
    std::string_view value_name; // "N", "NAME"; empty for flags
    std::string_view help;
    std::uint64_t min = 0; // numbers only
    std::uint64_t max = 0;
    bool octal_expected = false; // warn when a number > 7 was written in decimal
};

// The options one command line gave, in order; the last of a repeated one wins.
class ParsedOptions {
  public:
    bool has(std::string_view long_name) const;
    std::optional<std::string_view> text(std::string_view long_name) const;
    std::optional<std::uint64_t> number(std::string_view long_name) const;
    void add(const OptionSpec& spec, std::string value, std::uint64_t number);

  private:
    struct Given {
        const OptionSpec* spec;
        std::string value;
        std::uint64_t number;
    };
    const Given* last(std::string_view long_name) const;
    std::vector<Given> given_;
};

struct CommandSyntax {
    std::string_view name;     // the applet's name, as in messages
    std::string_view synopsis; // what follows the name in the usage line, options excluded
    std::string_view summary;  // one sentence
    std::span<const OptionSpec> options;
    // What the process list shows while this applet runs (PR_SET_NAME keeps
    // 15 bytes): empty means the applet's name, which must then fit. Distinct
    // for every applet; --help and the manual page say what it is.
    std::string_view process_name = {};

    std::string_view shown_name() const { return process_name.empty() ? name : process_name; }
};

// The longest process name the kernel keeps.
inline constexpr std::size_t max_process_name = 15;

struct CommandLine {
    ParsedOptions options;
    std::size_t first_operand; // index into the argument vector
};

// Parse ARGS (ARGS[0] is the applet's name) up to the first operand or "--".
// -?, --help and --usage print the usage on stdout and throw EarlyExit{0};
// anything wrong is a usage error naming the culprit. A command line whose
// first argument is not an option never reaches Boost at all.
CommandLine parse_command_line(const CommandSyntax& syntax, std::span<char* const> args);

// The text --help prints.
std::string usage_text(const CommandSyntax& syntax);

} // namespace toolkit
