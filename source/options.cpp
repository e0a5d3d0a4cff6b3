// Boost.ProgramOptions, tamed for chain-loaders: no parsing past the first
// operand, no prefix guessing, C numbers with ranges.
#include "options.hpp"

#include "diagnostics.hpp"
#include "numbers.hpp"

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <charconv>
#include <unistd.h>

namespace po = boost::program_options;

namespace toolkit {

namespace {

const OptionSpec* find_long(const CommandSyntax& syntax, std::string_view name) {
    for (const auto& spec : syntax.options)
        if (spec.long_name == name) return &spec;
    return nullptr;
}

const OptionSpec* find_short(const CommandSyntax& syntax, char name) {
    for (const auto& spec : syntax.options)
        if (spec.short_name != 0 && spec.short_name == name) return &spec;
    return nullptr;
}

[[noreturn]] void print_usage(const CommandSyntax& syntax) {
    write_output(usage_text(syntax));
    throw EarlyExit{exit_success};
}

// Where the options end: Boost would read on past operands, so we find the
// first operand ourselves, using the table to know which options take a value.
// The same walk notes which options the words name: Boost's description is then
// built from those alone, since building it costs far more than the parse (a
// dozen options cost ~90,000 instructions at every start of softlimit).
struct Extent {
    std::size_t end;           // one past the last option word
    std::size_t first_operand; // end, or end + 1 after "--"
    std::vector<bool> named;   // per spec of the table: named by some option word
    // A name not in the table, or a value in the next word that itself looks
    // like an option: Boost's verdict there depends on every option it knows,
    // so it is given the whole table (the errors keep Boost's wording).
    bool needs_all = false;
};

Extent find_option_extent(const CommandSyntax& syntax, std::span<char* const> args) {
    Extent extent{0, 0, std::vector<bool>(syntax.options.size()), false};
    auto note = [&](const OptionSpec* spec) {
        if (spec)
            extent.named[static_cast<std::size_t>(spec - syntax.options.data())] = true;
        else
            extent.needs_all = true;
    };
    // A value taken from the next word: Boost refuses it as a missing value
    // when that word is one of the options it knows.
    auto note_value_word = [&](std::size_t next) {
        if (next < args.size() && args[next][0] == '-' && args[next][1] != '\0')
            extent.needs_all = true;
    };
    std::size_t i = 1;
    while (i < args.size()) {
        std::string_view word = args[i];
        if (word == "--") {
            extent.end = i;
            extent.first_operand = i + 1;
            return extent;
        }
        if (word.size() < 2 || word[0] != '-') break;
        if (word[1] == '-') {
            std::string_view name = word.substr(2, word.find('=') - 2);
            bool attached = word.find('=') != std::string_view::npos;
            // Boost would take "--=x" for an operand "x" or report no name at all.
            if (name.empty()) throw usage_error(std::string(word), "unknown option");
            if (name == "help" || name == "usage") {
                if (attached) throw usage_error("--" + std::string(name), "takes no value");
                print_usage(syntax);
            }
            const OptionSpec* spec = find_long(syntax, name);
            note(spec);
            bool value_apart = spec && spec->kind != OptionKind::flag && !attached;
            if (value_apart) note_value_word(i + 1);
            i += value_apart ? 2 : 1;
            continue;
        }
        std::size_t advance = 1;
        for (std::size_t j = 1; j < word.size(); ++j) {
            if (word[j] == '?') print_usage(syntax);
            const OptionSpec* spec = find_short(syntax, word[j]);
            note(spec);
            if (spec && spec->kind != OptionKind::flag) {
                if (j + 1 == word.size()) { // value in the next word
                    advance = 2;
                    note_value_word(i + 1);
                }
                break;
            }
        }
        i += advance;
    }
    if (i > args.size()) i = args.size(); // a value option at the very end: Boost reports it
    extent.end = i;
    extent.first_operand = i;
    return extent;
}

std::string boost_name(const OptionSpec& spec) {
    std::string name(spec.long_name);
    if (spec.short_name != 0) name.append(",").push_back(spec.short_name);
    return name;
}

Failure translate(const po::error& e) {
    std::string subject;
    if (auto* named = dynamic_cast<const po::error_with_option_name*>(&e))
        subject = named->get_option_name();
    if (dynamic_cast<const po::unknown_option*>(&e)) return usage_error(subject, "unknown option");
    if (auto* syntax = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
        switch (syntax->kind()) {
        case po::invalid_syntax::missing_parameter:
            return usage_error(subject, "needs a value");
        case po::invalid_syntax::extra_parameter:
            return usage_error(subject, "takes no value");
        case po::invalid_syntax::empty_adjacent_parameter:
            return usage_error(subject, "empty value after '='");
        default:
            break;
        }
    }
    // Not e.what(): Boost substitutes the option name into its message template,
    // and a name that itself holds a placeholder such as "%canonical_option%"
    // makes that substitution loop forever.
    return usage_error(subject.empty() ? std::string("options") : subject, "invalid option syntax");
}

void check_octal_hint(const OptionSpec& spec, std::string_view text, std::uint64_t value) {
    auto number = read_c_number(text);
    if (spec.octal_expected && number && number->base == NumberBase::decimal && value > 7) {
        char digits[32];
        std::string_view octal(digits, std::to_chars(digits, digits + sizeof digits, value, 8).ptr);
        std::string detail(text);
        detail.append(" is decimal (0").append(octal).append(" in octal)");
        // "write 0680" would be refused: suggest the leading 0 only where it makes an octal number.
        if (text.find_first_not_of("01234567") == std::string_view::npos)
            detail.append("; write 0").append(text).append(" if octal was meant");
        warning(std::string("--").append(spec.long_name), detail);
    }
}

} // namespace

bool ParsedOptions::has(std::string_view long_name) const {
    return last(long_name) != nullptr;
}

std::optional<std::string_view> ParsedOptions::text(std::string_view long_name) const {
    const Given* given = last(long_name);
    if (!given) return std::nullopt;
    return std::string_view(given->value);
}

std::optional<std::uint64_t> ParsedOptions::number(std::string_view long_name) const {
    const Given* given = last(long_name);
    if (!given) return std::nullopt;
    return given->number;
}

void ParsedOptions::add(const OptionSpec& spec, std::string value, std::uint64_t number) {
    given_.push_back(Given{&spec, std::move(value), number});
}

const ParsedOptions::Given* ParsedOptions::last(std::string_view long_name) const {
    for (auto it = given_.rbegin(); it != given_.rend(); ++it)
        if (it->spec->long_name == long_name) return &*it;
    return nullptr;
}

CommandLine parse_command_line(const CommandSyntax& syntax, std::span<char* const> args) {
    CommandLine result{{}, 1};
    if (args.size() < 2) return result;
    std::string_view first = args[1];
    // The common case of a chain link: no options at all. Keep Boost off this path.
    if (first.size() < 2 || first[0] != '-') return result;

    Extent extent = find_option_extent(syntax, args);
    result.first_operand = extent.first_operand;
    if (extent.end <= 1) return result;

    po::options_description description;
    for (std::size_t k = 0; k < syntax.options.size(); ++k) {
        if (!extent.needs_all && !extent.named[k]) continue;
        const OptionSpec& spec = syntax.options[k];
        std::string name = boost_name(spec);
        if (spec.kind == OptionKind::flag)
            description.add_options()(name.c_str(), "");
        else
            description.add_options()(name.c_str(), po::value<std::string>(), "");
    }
    const int style =
        po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
        po::command_line_style::long_allow_next | po::command_line_style::allow_short |
        po::command_line_style::allow_dash_for_short |
        po::command_line_style::short_allow_adjacent | po::command_line_style::short_allow_next |
        po::command_line_style::allow_sticky;

    std::vector<std::string> words;
    for (std::size_t i = 1; i < extent.end; ++i) {
        // Boost refuses "--user=" but takes "--user ''": give both one meaning,
        // an empty value, so the check of the value says the same either way.
        std::string_view word = args[i];
        const OptionSpec* spec = word.starts_with("--") && word.ends_with("=")
                                     ? find_long(syntax, word.substr(2, word.size() - 3))
                                     : nullptr;
        if (spec && spec->kind != OptionKind::flag) {
            words.emplace_back(word.substr(0, word.size() - 1));
            words.emplace_back();
        } else {
            words.emplace_back(word);
        }
    }
    po::parsed_options parsed(&description);
    try {
        parsed = po::command_line_parser(words).options(description).style(style).run();
    } catch (const po::error& e) {
        throw translate(e);
    }
    for (const auto& option : parsed.options) {
        if (option.position_key != -1) // cannot happen: operands were cut off above
            throw usage_error(option.value.empty() ? "" : option.value[0], "unexpected operand");
        const OptionSpec* spec = find_long(syntax, option.string_key);
        if (!spec) throw usage_error(option.string_key, "unknown option");
        std::string value = option.value.empty() ? std::string() : option.value.front();
        std::uint64_t number = 0;
        if (spec->kind == OptionKind::number) {
            std::string subject = std::string("--").append(spec->long_name);
            number = parse_number(subject, value, spec->min, spec->max);
            check_octal_hint(*spec, value, number);
        }
        result.options.add(*spec, std::move(value), number);
    }
    return result;
}

std::string usage_text(const CommandSyntax& syntax) {
    std::string text;
    text.append("Usage: ").append(syntax.name);
    if (!syntax.options.empty()) text.append(" [OPTIONS]");
    text.append(" ").append(syntax.synopsis).append("\n");
    text.append(syntax.summary).append("\n\nOptions:\n");
    auto line = [&text](const std::string& left, std::string_view help) {
        text.append("  ").append(left);
        text.append(left.size() < 30 ? 30 - left.size() : 1, ' ');
        text.append(help).append("\n");
    };
    for (const auto& spec : syntax.options) {
        std::string left;
        if (spec.short_name != 0) left.append("-").append(1, spec.short_name).append(", ");
        left.append("--").append(spec.long_name);
        if (spec.kind != OptionKind::flag) left.append(" ").append(spec.value_name);
        line(left, spec.help);
    }
    line("-?, --help, --usage", "print this help and exit");
    text.append("\nProcess name while it runs: ").append(syntax.shown_name()).append("\n");
    return text;
}

} // namespace toolkit
