// The rules file of ucspi-socket-rules-check: parsed as views into one buffer,
// matched without allocating, so that a long file costs a connection little.
#include "access_rules.hpp"

#include "accounts.hpp"
#include "diagnostics.hpp"
#include "environment.hpp"
#include "fd.hpp"
#include "numbers.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

namespace {

// The longest address inet_pton is given: an IPv6 address with an IPv4 tail.
constexpr std::size_t max_address_text = 45;

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// The next blank-separated word of TEXT, taken off its front ("" at the end).
inline std::string_view next_word(std::string_view& text) {
    std::size_t start = 0;
    while (start < text.size() && is_blank(text[start]))
        ++start;
    std::size_t end = start;
    while (end < text.size() && !is_blank(text[end]))
        ++end;
    std::string_view word = text.substr(start, end - start);
    text.remove_prefix(end);
    return word;
}

Failure bad(std::string detail) {
    return usage_error("", std::move(detail));
}

std::string quoted(std::string_view word) {
    return "\"" + std::string(word) + "\"";
}

// The failure of one line, named by file and line: "PATH:LINE: [SUBJECT: ]DETAIL".
Failure located(std::string_view path, std::size_t line, const Failure& failure) {
    std::string detail =
        failure.subject().empty() ? failure.detail() : failure.subject() + ": " + failure.detail();
    return Failure(failure.status(), std::string(path) + ":" + std::to_string(line),
                   std::move(detail));
}

// An address in TEXT (IPv4 dotted quad, or IPv6 when it has a colon) into
// ADDRESS; v4-mapped IPv6 addresses are not folded here.
bool read_address(std::string_view text, bool& ipv4, std::array<std::uint8_t, 16>& address) {
    if (text.empty() || text.size() > max_address_text) return false;
    char buffer[max_address_text + 1];
    text.copy(buffer, text.size());
    buffer[text.size()] = '\0';
    ipv4 = text.find(':') == std::string_view::npos;
    address = {};
    return ::inet_pton(ipv4 ? AF_INET : AF_INET6, buffer, address.data()) == 1;
}

bool is_v4_mapped(const std::array<std::uint8_t, 16>& address) {
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(address.data(), prefix, sizeof prefix) == 0;
}

void fold_v4_mapped(std::array<std::uint8_t, 16>& address) {
    std::memmove(address.data(), address.data() + 12, 4);
    std::fill(address.begin() + 4, address.end(), 0);
}

std::uint32_t first_word(const std::array<std::uint8_t, 16>& address) {
    std::uint32_t word;
    std::memcpy(&word, address.data(), sizeof word);
    return word;
}

// In 32-bit words, with no call: this runs once per ip: rule of a long file.
bool same_prefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                 unsigned bits) {
    for (std::size_t at = 0; bits > 0; at += 4) {
        std::uint32_t x, y;
        std::memcpy(&x, a.data() + at, 4);
        std::memcpy(&y, b.data() + at, 4);
        std::uint32_t mask = bits >= 32 ? ~0u : htonl(~(~0u >> bits));
        if (((x ^ y) & mask) != 0) return false;
        bits -= bits >= 32 ? 32 : bits;
    }
    return true;
}

// True when no bit of ADDRESS after its first LENGTH (of MOST) is set.
bool only_prefix_bits(const std::array<std::uint8_t, 16>& address, unsigned length, unsigned most) {
    for (unsigned bit = length; bit < most; ++bit)
        if ((address[bit / 8] & (0x80u >> (bit % 8))) != 0) return false;
    return true;
}

void parse_prefix(std::string_view text, Rule& rule) {
    std::size_t slash = text.find('/');
    if (!read_address(text.substr(0, slash), rule.ipv4, rule.address))
        throw bad("ip:" + std::string(text) + ": not an IPv4 or IPv6 address");
    unsigned most = rule.ipv4 ? 32 : 128;
    unsigned length = most;
    if (slash != std::string_view::npos) {
        std::string_view digits = text.substr(slash + 1);
        bool plain = !digits.empty() && digits.size() <= 3 &&
                     digits.find_first_not_of("0123456789") == std::string_view::npos &&
                     (digits.size() == 1 || digits[0] != '0');
        length = 0;
        for (char c : digits)
            length = length * 10 + static_cast<unsigned>(c - '0');
        if (!plain || length > most)
            throw bad("ip:" + std::string(text) +
                      ": the prefix length must be a number from 0 to " + std::to_string(most));
    }
    // Bits after the prefix are almost always a typing error (10.0.0.1/8 for /32).
    if (!only_prefix_bits(rule.address, length, most))
        throw bad("ip:" + std::string(text) + ": the address has bits set after its first " +
                  std::to_string(length));
    // A client from a v4-mapped address is matched as IPv4, so is such a prefix.
    if (!rule.ipv4 && length >= 96 && is_v4_mapped(rule.address)) {
        fold_v4_mapped(rule.address);
        rule.ipv4 = true;
        length -= 96;
    }
    rule.prefix_length = static_cast<std::uint8_t>(length);
    // Only an IPv4 prefix (0..32 bits) is matched by mask; an IPv6 one by its bits.
    if (rule.ipv4) rule.ipv4_mask = htonl(length == 0 ? 0u : ~0u << (32 - length));
}

void parse_match(std::string_view match, Rule& rule) {
    if (match == "*") return;
    std::size_t colon = match.find(':');
    std::string_view kind = match.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : match.substr(colon + 1);
    if (colon != std::string_view::npos) {
        if (kind == "ip") {
            rule.kind = RuleKind::ip;
            return parse_prefix(value, rule);
        }
        if (kind == "uid" || kind == "gid") {
            rule.kind = kind == "uid" ? RuleKind::uid : RuleKind::gid;
            // Plain decimal, by far the usual spelling, without the general reader.
            std::optional<std::uint32_t> id =
                value.size() > 1 && value[0] == '0' ? std::nullopt : read_account_id(value);
            if (!id) {
                auto number = read_c_number(value);
                if (number && number->value <= max_account_id)
                    id = static_cast<std::uint32_t>(number->value);
            }
            if (!id)
                throw bad(std::string(match) + ": not a number from 0 to " +
                          std::to_string(max_account_id));
            rule.id = *id;
            return;
        }
        if (kind == "user" || kind == "group") {
            rule.kind = kind == "user" ? RuleKind::user : RuleKind::group;
            if (value.empty()) throw bad(std::string(match) + " needs a name");
            rule.name = value;
            return;
        }
    }
    throw bad("unknown MATCH " + quoted(match) + " (*, ip:, uid:, gid:, user: or group:)");
}

void check_assignment(std::string_view word) {
    std::size_t equals = word.find('=');
    if (equals == std::string_view::npos || equals == 0)
        throw bad(quoted(word) + " is not a VAR=VALUE assignment");
    std::string_view name = word.substr(0, equals);
    auto name_char = [](char c, bool first) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
               (!first && c >= '0' && c <= '9');
    };
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0))
            throw bad(quoted(name) + " is not a variable name (letters, digits, _)");
}

// Calls VISIT(rule) for every rule of TEXT in order. A failure on a line,
// from parsing or from VISIT, names PATH:LINE.
template <typename Visit>
void for_each_rule(std::string_view text, std::string_view path, Visit visit) {
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const void* newline = std::memchr(text.data(), '\n', text.size());
        std::size_t end =
            newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - text.data())
                    : text.size();
        std::string_view line = text.substr(0, end);
        text.remove_prefix(newline ? end + 1 : end);
        try {
            std::optional<Rule> rule = parse_rule(line);
            if (!rule) continue;
            rule->line = number;
            visit(*rule);
        } catch (const Failure& failure) {
            throw located(path, number, failure);
        }
    }
}

// Inlined into the loop over a long file's rules, where a call per rule would double its cost.
inline bool hit(const Rule& rule, const Client& client) {
    bool is_unix = client.protocol == Client::Protocol::unix_socket;
    switch (rule.kind) {
    case RuleKind::any:
        return true;
    case RuleKind::ip:
        if (is_unix || client.ipv4 != rule.ipv4) return false;
        if (rule.ipv4)
            return ((first_word(rule.address) ^ first_word(client.address)) & rule.ipv4_mask) == 0;
        return same_prefix(rule.address, client.address, rule.prefix_length);
    case RuleKind::uid:
    case RuleKind::user:
        return is_unix && client.uid == rule.id;
    case RuleKind::gid:
    case RuleKind::group:
        return is_unix &&
               (client.gid == rule.id || std::find(client.groups.begin(), client.groups.end(),
                                                   rule.id) != client.groups.end());
    }
    return false;
}

bool needs_name(const Rule& rule) {
    return rule.kind == RuleKind::user || rule.kind == RuleKind::group;
}

// user: and group: get their number from the account database; an unknown
// name is a usage Failure without a subject, a database that cannot be read 111.
void resolve_name(Rule& rule) {
    if (rule.kind == RuleKind::user) {
        auto account = lookup_account(rule.name);
        if (!account) throw bad("no such user " + quoted(rule.name));
        rule.id = account->uid;
    } else {
        auto gid = lookup_group(rule.name);
        if (!gid) throw bad("no such group " + quoted(rule.name));
        rule.id = *gid;
    }
}

// The values come from whatever started us: they are not repeated in messages.
std::string_view variable(const PendingEnvironment& environment, const char* name) {
    const char* value = environment.get(name);
    if (!value) throw usage_error(name, "not set, so the client is unknown");
    return value;
}

std::uint32_t id_variable(const PendingEnvironment& environment, const char* name) {
    auto id = read_account_id(variable(environment, name));
    if (!id) throw usage_error(name, "not a uid or gid number");
    return *id;
}

} // namespace

std::optional<Rule> parse_rule(std::string_view line) {
    // A carriage return ends a CRLF line and nothing else: inside a line it
    // could hide a rule from a terminal behind what looks like a comment.
    if (line.ends_with('\r')) line.remove_suffix(1);
    for (char c : line)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
            throw bad("a control character in the line");
    std::string_view rest = line;
    std::string_view match = next_word(rest);
    if (match.empty() || match[0] == '#') return std::nullopt;
    Rule rule;
    parse_match(match, rule);
    std::string_view action = next_word(rest);
    if (action == "allow") {
        rule.allow = true;
    } else if (action.empty() || action[0] == '#') {
        throw bad(std::string(match) + " has no action (allow or deny)");
    } else if (action != "deny") {
        throw bad("unknown action " + quoted(action) + " (allow or deny)");
    }
    const char* first = nullptr;
    const char* last = nullptr;
    for (std::string_view word = next_word(rest); !word.empty() && word[0] != '#';
         word = next_word(rest)) {
        check_assignment(word);
        if (!first) first = word.data();
        last = word.data() + word.size();
    }
    if (first) {
        if (!rule.allow) throw bad("a deny rule takes no VAR=VALUE assignments");
        rule.assignments = std::string_view(first, static_cast<std::size_t>(last - first));
    }
    return rule;
}

Client client_from_environment(const PendingEnvironment& environment) {
    Client client;
    std::string_view protocol = variable(environment, "PROTO");
    if (protocol == "UNIX") {
        client.protocol = Client::Protocol::unix_socket;
        client.uid = id_variable(environment, "UNIXREMOTEEUID");
        client.gid = id_variable(environment, "UNIXREMOTEEGID");
        // Not every kernel reports the groups: without the list, the egid is all we know.
        if (const char* list = environment.get("UNIXREMOTEGIDLIST"); list && *list) {
            std::string_view rest = list;
            for (;;) {
                std::size_t comma = rest.find(',');
                auto id = read_account_id(rest.substr(0, comma));
                if (!id)
                    throw usage_error("UNIXREMOTEGIDLIST", "not a comma-separated list of gids");
                client.groups.push_back(*id);
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
        }
    } else if (protocol == "TCP") {
        client.protocol = Client::Protocol::tcp;
        std::string_view text = variable(environment, "TCPREMOTEIP");
        text =
            text.substr(0, text.find('%')); // a link-local address's zone says nothing of who it is
        if (!read_address(text, client.ipv4, client.address))
            throw usage_error("TCPREMOTEIP", "not an IPv4 or IPv6 address");
        if (!client.ipv4 && is_v4_mapped(client.address)) {
            fold_v4_mapped(client.address);
            client.ipv4 = true;
        }
    } else {
        throw usage_error("PROTO", "neither UNIX nor TCP");
    }
    return client;
}

std::string describe(const Client& client) {
    if (client.protocol == Client::Protocol::unix_socket)
        return "UNIX client uid " + std::to_string(client.uid) + " gid " +
               std::to_string(client.gid);
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(client.ipv4 ? AF_INET : AF_INET6, client.address.data(), text, sizeof text);
    return "TCP client " + std::string(text);
}

RulesFile RulesFile::read(const std::string& path) {
    // O_NONBLOCK: a FIFO put in the file's place must not hang us in open().
    return read(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), path);
}

RulesFile RulesFile::read(int opened, const std::string& path) {
    UniqueFd fd(opened);
    if (!fd) throw system_error(path, errno);
    struct stat status;
    if (::fstat(fd.get(), &status) < 0) throw system_error(path, errno);
    if (!S_ISREG(status.st_mode))
        throw Failure(exit_failure, path,
                      "is " + std::string(file_kind(status.st_mode)) + ", not a regular file");
    RulesFile file;
    file.device_ = status.st_dev;
    file.inode_ = status.st_ino;
    file.modified_seconds_ = status.st_mtim.tv_sec;
    file.modified_nanoseconds_ = status.st_mtim.tv_nsec;
    file.changed_seconds_ = status.st_ctim.tv_sec;
    file.changed_nanoseconds_ = status.st_ctim.tv_nsec;
    // One byte more than its size, so that one read finds the end of a file that did not grow.
    std::size_t capacity = static_cast<std::size_t>(status.st_size) + 1;
    file.text_.reset(new char[capacity]);
    for (;;) {
        if (file.size_ == capacity) {
            auto larger = std::unique_ptr<char[]>(new char[capacity * 2]);
            std::memcpy(larger.get(), file.text_.get(), file.size_);
            file.text_ = std::move(larger);
            capacity *= 2;
        }
        ssize_t n = ::read(fd.get(), file.text_.get() + file.size_, capacity - file.size_);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_error(path, errno);
        if (n == 0) break;
        file.size_ += static_cast<std::size_t>(n);
    }
    return file;
}

bool RulesFile::same_as(const RulesFile& other) const {
    return device_ == other.device_ && inode_ == other.inode_ &&
           modified_seconds_ == other.modified_seconds_ &&
           modified_nanoseconds_ == other.modified_nanoseconds_ && text() == other.text();
}

bool RulesFile::may_differ_from(const std::string& path) const {
    struct stat status;
    if (::stat(path.c_str(), &status) < 0) return true;
    // The change time moves with every write and rename, even when a tool puts
    // the modification time back (cp -p, rsync -t).
    return status.st_dev != device_ || status.st_ino != inode_ ||
           static_cast<std::size_t>(status.st_size) != size_ ||
           status.st_mtim.tv_sec != modified_seconds_ ||
           status.st_mtim.tv_nsec != modified_nanoseconds_ ||
           status.st_ctim.tv_sec != changed_seconds_ ||
           status.st_ctim.tv_nsec != changed_nanoseconds_;
}

std::vector<Rule> parse_rules(std::string_view text, std::string_view path) {
    std::vector<Rule> rules;
    // A long file names the same few accounts again and again, and a look-up
    // may read the whole account database: each name is looked up once.
    struct Resolved {
        RuleKind kind;
        std::string_view name;
        std::uint32_t id;
    };
    constexpr std::size_t remembered = 64;
    std::vector<Resolved> resolved;
    for_each_rule(text, path, [&](Rule& rule) {
        if (needs_name(rule)) {
            auto known = std::find_if(resolved.begin(), resolved.end(), [&](const Resolved& r) {
                return r.kind == rule.kind && r.name == rule.name;
            });
            if (known != resolved.end()) {
                rule.id = known->id;
            } else {
                resolve_name(rule);
                if (resolved.size() < remembered)
                    resolved.push_back({rule.kind, rule.name, rule.id});
            }
        }
        rules.push_back(rule);
    });
    return rules;
}

Verdict first_match(std::span<const Rule> rules, const Client& client) {
    for (const Rule& rule : rules)
        if (hit(rule, client)) return Verdict{rule.allow, rule.line, rule.assignments};
    return Verdict{};
}

void apply_assignments(std::string_view assignments, PendingEnvironment& environment) {
    for (std::string_view word = next_word(assignments); !word.empty();
         word = next_word(assignments)) {
        std::size_t equals = word.find('=');
        environment.set(word.substr(0, equals), word.substr(equals + 1));
    }
}

} // namespace toolkit
