// Access rules for one connection: the rules file's syntax, and its first rule matching the client.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace toolkit {

class PendingEnvironment;

// The client of one connection, as the accept applet's variables describe it.
struct Client {
    enum class Protocol : std::uint8_t { unix_socket, tcp };
    Protocol protocol = Protocol::unix_socket;
    // TCP: the address; IPv4 (also a v4-mapped IPv6 address) in the first 4 bytes.
    bool ipv4 = false;
    std::array<std::uint8_t, 16> address{};
    // UNIX: the effective ids and the supplementary groups.
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

// PROTO and the connection's variables (UNIXREMOTEEUID, UNIXREMOTEEGID,
// UNIXREMOTEGIDLIST; TCPREMOTEIP). A variable that is missing or garbage is a
// Failure naming it: the caller cannot know who is asking.
Client client_from_environment(const PendingEnvironment& environment);
// "UNIX client uid 1000 gid 100", "TCP client 10.0.0.1": for messages.
std::string describe(const Client& client);

enum class RuleKind : std::uint8_t { any, ip, uid, gid, user, group };

// One line of a rules file: MATCH allow|deny [VAR=VALUE...].
struct Rule {
    RuleKind kind = RuleKind::any;
    bool allow = false;
    bool ipv4 = false;              // ip: the family of the prefix
    std::uint8_t prefix_length = 0; // ip: in bits
    std::uint32_t ipv4_mask = 0;    // ip: IPv4: the prefix as a mask, in network byte order
    std::array<std::uint8_t, 16> address{};
    std::uint32_t id = 0;         // uid:, gid:, and user: or group: once resolved
    std::string_view name;        // user:, group: as written
    std::string_view assignments; // "VAR=VALUE VAR=VALUE", checked
    std::size_t line = 0;
};

// One line's rule; nullopt for a blank or comment line. What is wrong with the
// line is a usage Failure without a subject (the caller knows file and line).
// Names are not resolved here.
std::optional<Rule> parse_rule(std::string_view line);

// A rules file as read once: its text, and what says whether it changed since.
class RulesFile {
  public:
    // Read PATH whole; it must be a regular file. A system error naming PATH otherwise.
    static RulesFile read(const std::string& path);
    // The same from OPENED, a descriptor of PATH opened for reading (or not: -1, errno set).
    static RulesFile read(int opened, const std::string& path);
    std::string_view text() const { return {text_.get(), size_}; }
    // Same file, same modification time, same bytes: what was parsed from
    // OTHER holds for this one too, names resolved included.
    bool same_as(const RulesFile& other) const;
    // Whether PATH may have changed since it was read: another file there, or
    // another size, modification or change time. Cheaper than reading it; an
    // error (the file gone, say) counts as a change.
    bool may_differ_from(const std::string& path) const;

  private:
    // Not a std::string: growing one fills it with zeros first, which costs as
    // much again as the read.
    std::unique_ptr<char[]> text_;
    std::size_t size_ = 0;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    std::int64_t modified_seconds_ = 0;
    long modified_nanoseconds_ = 0;
    std::int64_t changed_seconds_ = 0;
    long changed_nanoseconds_ = 0;
};

// Every rule of TEXT, names resolved: a file is taken whole or not at all. The
// first bad line is a Failure whose subject is PATH:LINE (100 for the line
// itself, 111 when the account database cannot be read).
std::vector<Rule> parse_rules(std::string_view text, std::string_view path);

struct Verdict {
    bool allow = false;
    std::size_t line = 0; // 0: no rule matched
    std::string_view assignments;
};

// The first of RULES that matches CLIENT; none is a deny.
Verdict first_match(std::span<const Rule> rules, const Client& client);

// Set each VAR=VALUE of a rule's (checked) assignments.
void apply_assignments(std::string_view assignments, PendingEnvironment& environment);

} // namespace toolkit
