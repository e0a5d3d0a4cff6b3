// libFuzzer target: the C-number reader against strtoull, and parse_number's range check.
#include "diagnostics.hpp"
#include "numbers.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// What a strict C number is, said another way: strtoull with base 0 must
// consume every byte, there is no sign or white space in front, and no overflow.
bool oracle(const std::string& text, std::uint64_t& value) {
    if (text.empty() || text[0] < '0' || text[0] > '9') return false;
    errno = 0;
    char* end = nullptr;
    unsigned long long parsed = std::strtoull(text.c_str(), &end, 0);
    if (errno == ERANGE || end != text.c_str() + text.size()) return false;
    value = parsed;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The first 16 bytes (when there are that many) choose a range; the rest is the text.
    std::uint64_t min = 0, max = UINT64_MAX;
    if (size >= 16) {
        std::memcpy(&min, data, 8);
        std::memcpy(&max, data + 8, 8);
        data += 16;
        size -= 16;
    }
    std::string text(reinterpret_cast<const char*>(data), size);

    auto number = toolkit::read_c_number(text);
    std::uint64_t expected = 0;
    bool valid = oracle(text, expected);
    if (valid != number.has_value()) std::abort();
    if (valid && number->value != expected) std::abort();

    try {
        std::uint64_t value = toolkit::parse_number("N", text, min, max);
        if (!valid || value != expected || value < min || value > max) std::abort();
    } catch (const toolkit::Failure& failure) {
        if (failure.status() != toolkit::exit_usage) std::abort();
        if (valid && expected >= min && expected <= max) std::abort();
    }
    return 0;
}
