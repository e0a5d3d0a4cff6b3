// C-convention numbers (decimal, 0 octal, 0x hex) with a range, for options and operands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace toolkit {

enum class NumberBase { decimal, octal, hexadecimal };

struct ParsedNumber {
    std::uint64_t value;
    NumberBase base;
};

// Why TEXT is not a number, or the number: no sign, no white space, no
// trailing garbage, no overflow of 64 bits.
std::optional<ParsedNumber> read_c_number(std::string_view text);

// The number in TEXT within [min, max]; a usage error naming SUBJECT otherwise.
std::uint64_t parse_number(std::string_view subject, std::string_view text, std::uint64_t min,
                           std::uint64_t max);

// A file descriptor operand or option value: 0..INT_MAX.
int parse_fd(std::string_view subject, std::string_view text);

} // namespace toolkit
