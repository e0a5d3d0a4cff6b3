#define BOOST_TEST_MODULE numbers
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "numbers.hpp"
#include "support.hpp"

#include <climits>
#include <cstdint>
#include <string>

using namespace toolkit;
using toolkit::testing::failure_of;

namespace {

void check_number(std::string_view text, std::uint64_t value, NumberBase base) {
    BOOST_TEST_CONTEXT("text \"" << text << "\"") {
        auto number = read_c_number(text);
        BOOST_TEST_REQUIRE(number.has_value());
        BOOST_TEST(number->value == value);
        BOOST_TEST((number->base == base));
    }
}

void check_rejected(std::string_view text) {
    BOOST_TEST_CONTEXT("text \"" << text << "\"") {
        BOOST_TEST(!read_c_number(text).has_value());
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(decimal) {
    check_number("0", 0, NumberBase::decimal);
    check_number("7", 7, NumberBase::decimal);
    check_number("10", 10, NumberBase::decimal);
    check_number("660", 660, NumberBase::decimal);
    check_number("4294967295", 4294967295u, NumberBase::decimal);
}

BOOST_AUTO_TEST_CASE(octal_after_a_leading_zero) {
    check_number("00", 0, NumberBase::octal);
    check_number("010", 8, NumberBase::octal);
    check_number("0660", 0660, NumberBase::octal);
    check_number("07777", 07777, NumberBase::octal);
    check_number("0007", 7, NumberBase::octal);
    check_rejected("08");
    check_rejected("09");
    check_rejected("0778");
}

BOOST_AUTO_TEST_CASE(hexadecimal_after_0x) {
    check_number("0x0", 0, NumberBase::hexadecimal);
    check_number("0x10", 16, NumberBase::hexadecimal);
    check_number("0X10", 16, NumberBase::hexadecimal);
    check_number("0xff", 255, NumberBase::hexadecimal);
    check_number("0xFF", 255, NumberBase::hexadecimal);
    check_number("0xaBcD", 0xabcd, NumberBase::hexadecimal);
    check_number("0x0010", 16, NumberBase::hexadecimal);
    check_rejected("0x");
    check_rejected("0X");
    check_rejected("0xg");
    check_rejected("0x1g");
    check_rejected("0x-1");
    check_rejected("x10");
    check_rejected("00x10");
}

BOOST_AUTO_TEST_CASE(no_sign_space_or_garbage) {
    check_rejected("");
    check_rejected("+1");
    check_rejected("-1");
    check_rejected("-0");
    check_rejected(" 1");
    check_rejected("1 ");
    check_rejected("\t1");
    check_rejected("1\n");
    check_rejected("1x");
    check_rejected("12a");
    check_rejected("1e3");
    check_rejected("1.0");
    check_rejected("1,000");
    check_rejected("ten");
    check_rejected(std::string_view("1\0", 2));
}

BOOST_AUTO_TEST_CASE(sixty_four_bits_and_not_one_more) {
    check_number("18446744073709551615", UINT64_MAX, NumberBase::decimal);
    check_rejected("18446744073709551616");
    check_rejected("18446744073709551620");
    check_rejected("99999999999999999999999");
    check_number("0xffffffffffffffff", UINT64_MAX, NumberBase::hexadecimal);
    check_number("0x0000ffffffffffffffff", UINT64_MAX, NumberBase::hexadecimal);
    check_rejected("0x10000000000000000");
    check_number("01777777777777777777777", UINT64_MAX, NumberBase::octal);
    check_rejected("02000000000000000000000");
}

BOOST_AUTO_TEST_CASE(range_edges) {
    BOOST_TEST(parse_number("--limit", "1", 1, 10) == 1u);
    BOOST_TEST(parse_number("--limit", "10", 1, 10) == 10u);
    BOOST_TEST(parse_number("--limit", "012", 1, 10) == 10u);
    BOOST_TEST(parse_number("--limit", "0xa", 1, 10) == 10u);
    BOOST_TEST(parse_number("--any", "18446744073709551615", 0, UINT64_MAX) == UINT64_MAX);

    Failure low = failure_of([] { parse_number("--limit", "0", 1, 10); });
    BOOST_TEST(low.status() == exit_usage);
    BOOST_TEST(low.subject() == "--limit");
    BOOST_TEST(low.detail().find("1..10") != std::string::npos);
    BOOST_TEST(low.detail().find("0") != std::string::npos);

    Failure high = failure_of([] { parse_number("--limit", "11", 1, 10); });
    BOOST_TEST(high.status() == exit_usage);
    BOOST_TEST(high.subject() == "--limit");
    BOOST_TEST(high.detail().find("11") != std::string::npos);

    Failure octal_high = failure_of([] { parse_number("--limit", "013", 1, 10); });
    BOOST_TEST(octal_high.subject() == "--limit");
}

BOOST_AUTO_TEST_CASE(not_a_number_names_subject_and_text) {
    Failure bad = failure_of([] { parse_number("--backlog", "5x", 0, 100); });
    BOOST_TEST(bad.status() == exit_usage);
    BOOST_TEST(bad.subject() == "--backlog");
    BOOST_TEST(bad.detail().find("5x") != std::string::npos);

    Failure empty = failure_of([] { parse_number("MODE", "", 0, 100); });
    BOOST_TEST(empty.status() == exit_usage);
    BOOST_TEST(empty.subject() == "MODE");

    Failure overflow = failure_of([] { parse_number("N", "18446744073709551616", 0, UINT64_MAX); });
    BOOST_TEST(overflow.status() == exit_usage);
    BOOST_TEST(overflow.subject() == "N");
}

BOOST_AUTO_TEST_CASE(file_descriptors) {
    BOOST_TEST(parse_fd("TO", "0") == 0);
    BOOST_TEST(parse_fd("TO", "2147483647") == INT_MAX);
    BOOST_TEST(parse_fd("TO", "0x7fffffff") == INT_MAX);
    BOOST_TEST(parse_fd("TO", "010") == 8);

    for (const char* text : {"2147483648", "4294967295", "4294967296", "-1", "", "one", "3 "}) {
        BOOST_TEST_CONTEXT("text \"" << text << "\"") {
            Failure failure = failure_of([text] { parse_fd("FROM", text); });
            BOOST_TEST(failure.status() == exit_usage);
            BOOST_TEST(failure.subject() == "FROM");
        }
    }
}
