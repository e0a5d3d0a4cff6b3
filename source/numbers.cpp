// Strict C-style number parsing: what strtoul accepts minus its surprises.
#include "numbers.hpp"

#include "diagnostics.hpp"

#include <climits>

namespace toolkit {

std::optional<ParsedNumber> read_c_number(std::string_view text) {
    if (text.empty()) return std::nullopt;
    NumberBase base = NumberBase::decimal;
    unsigned radix = 10;
    if (text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = NumberBase::hexadecimal;
        radix = 16;
        text.remove_prefix(2);
        if (text.empty()) return std::nullopt;
    } else if (text.size() > 1 && text[0] == '0') {
        base = NumberBase::octal;
        radix = 8;
        text.remove_prefix(1);
    }
    std::uint64_t value = 0;
    for (char c : text) {
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<unsigned>(c - 'A' + 10);
        else
            return std::nullopt;
        if (digit >= radix) return std::nullopt;
        if (value > (UINT64_MAX - digit) / radix) return std::nullopt;
        value = value * radix + digit;
    }
    return ParsedNumber{value, base};
}

std::uint64_t parse_number(std::string_view subject, std::string_view text, std::uint64_t min,
                           std::uint64_t max) {
    auto number = read_c_number(text);
    if (!number && text.empty()) throw usage_error(std::string(subject), "not a number (empty)");
    if (!number) throw usage_error(std::string(subject), "not a number: " + std::string(text));
    if (number->value < min || number->value > max)
        throw usage_error(std::string(subject), "out of range " + std::to_string(min) + ".." +
                                                    std::to_string(max) + ": " + std::string(text));
    return number->value;
}

int parse_fd(std::string_view subject, std::string_view text) {
    return static_cast<int>(parse_number(subject, text, 0, INT_MAX));
}

} // namespace toolkit
