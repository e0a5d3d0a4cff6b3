// libFuzzer target: arbitrary bytes as a rules file. Parsing the whole file
// and matching from the text must agree, and every refusal must name a line.
#include "access_rules.hpp"
#include "diagnostics.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
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
    std::optional<std::vector<toolkit::Rule>> rules;
    std::size_t bad_line = 0;
    bool unknown_name = false;
    try {
        rules = toolkit::parse_rules(text, "F");
    } catch (const toolkit::Failure& failure) {
        check_failure(failure);
        bad_line = line_of(failure);
        unknown_name = failure.detail().rfind("no such ", 0) == 0;
    }
    for (const Client& client : all) {
        try {
            toolkit::Verdict streamed = toolkit::first_match(text, "F", client);
            if (rules) {
                toolkit::Verdict parsed = toolkit::first_match(*rules, client);
                if (parsed.allow != streamed.allow || parsed.line != streamed.line ||
                    parsed.assignments != streamed.assignments)
                    std::abort();
            } else if (!(unknown_name && client.protocol == Client::Protocol::tcp) &&
                       (streamed.line == 0 || streamed.line >= bad_line)) {
                // Reading from the text stops at the match, so it cannot have passed the
                // bad line; only a TCP client skips names (it never looks them up).
                std::abort();
            }
            if (!streamed.allow && !streamed.assignments.empty()) std::abort();
        } catch (const toolkit::Failure& failure) {
            check_failure(failure);
            if (rules) std::abort(); // the whole file parsed, so no line of it can fail
        }
    }
    return 0;
}
