// libFuzzer target: arbitrary bytes as a rules file. Every refusal names a
// line; a file is refused whole when a bad line follows it; a verdict names a
// rule of the file.
#include "access_rules.hpp"
#include "diagnostics.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using toolkit::Client;

std::vector<Client> clients() {
    std::vector<Client> all;
    Client root;
    all.push_back(root);
    Client member;
    member.uid = 1000;
    member.gid = 100;
    member.groups = {100, 27, 0};
    all.push_back(member);
    Client v4;
    v4.protocol = Client::Protocol::tcp;
    v4.ipv4 = true;
    v4.address = {10, 1, 2, 3};
    all.push_back(v4);
    Client v6;
    v6.protocol = Client::Protocol::tcp;
    v6.address[15] = 1; // ::1
    all.push_back(v6);
    return all;
}

// The line number in a "FILE:LINE" subject.
std::size_t line_of(const toolkit::Failure& failure) {
    const std::string& subject = failure.subject();
    std::size_t colon = subject.rfind(':');
    if (colon == std::string::npos || subject.substr(0, colon) != "F") std::abort();
    return std::strtoul(subject.c_str() + colon + 1, nullptr, 10);
}

void check_failure(const toolkit::Failure& failure) {
    if (failure.status() != toolkit::exit_usage && failure.status() != toolkit::exit_failure)
        std::abort();
    if (failure.detail().empty() || line_of(failure) == 0) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<Client> all = clients();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<toolkit::Rule> rules;
    try {
        rules = toolkit::parse_rules(text, "F");
    } catch (const toolkit::Failure& failure) {
        check_failure(failure);
        return 0;
    }
    // The same file with a bad line after it is refused whole, at that line.
    std::string longer(text);
    if (!longer.empty() && longer.back() != '\n') longer.push_back('\n');
    std::size_t lines = static_cast<std::size_t>(std::count(longer.begin(), longer.end(), '\n'));
    longer.append("!\n");
    try {
        toolkit::parse_rules(longer, "F");
        std::abort();
    } catch (const toolkit::Failure& failure) {
        if (line_of(failure) != lines + 1) std::abort();
    }
    for (const Client& client : all) {
        toolkit::Verdict verdict = toolkit::first_match(rules, client);
        if (!verdict.allow && !verdict.assignments.empty()) std::abort();
        if (verdict.line != 0 &&
            std::none_of(rules.begin(), rules.end(),
                         [&](const toolkit::Rule& rule) { return rule.line == verdict.line; }))
            std::abort();
    }
    return 0;
}
