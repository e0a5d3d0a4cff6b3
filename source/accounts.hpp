// Account and group look-ups: NSS in a normal build, /etc/passwd and /etc/group in a static one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace toolkit {

// The largest uid or gid a file or process can be given: (uid_t)-1 means "unchanged" to the kernel.
constexpr std::uint64_t max_account_id = 4294967294u;

// A uid or gid written as the account files and the UCSPI variables write
// them: plain decimal digits, 0..max_account_id; nullopt for anything else.
std::optional<std::uint32_t> read_account_id(std::string_view text);

struct Account {
    std::string name;
    uid_t uid;
    gid_t gid;
};

struct GroupEntry {
    std::string name;
    gid_t gid;
    std::vector<std::string> members;
};

// SUBJECT is where the name came from (an option or an operand): an empty name
// is a usage error naming it, since there is nothing to look up. Look-ups that
// fail throw exit 111 naming what was looked for.
Account find_account(std::string_view subject, std::string_view name);
gid_t find_group(std::string_view subject, std::string_view name);
// The same, for callers that treat an unknown name as their own kind of error:
// nullopt when there is no such name; a throw (111) only when the database
// itself cannot be read.
std::optional<Account> lookup_account(std::string_view name);
std::optional<gid_t> lookup_group(std::string_view name);
// A group given by name, or by number when it is all digits (a C number);
// a bad number is a usage error naming SUBJECT.
gid_t find_group_or_number(std::string_view subject, std::string_view text);
// Every group NAME belongs to in the group database, with GID first.
std::vector<gid_t> account_groups(std::string_view name, gid_t gid);

// passwd(5) and group(5) lines; nullopt for a line that is malformed.
std::optional<Account> parse_passwd_line(std::string_view line);
std::optional<GroupEntry> parse_group_line(std::string_view line);

// The same look-ups against explicit files; used by static builds and tests.
std::optional<Account> find_account_in(const std::string& passwd_file, std::string_view name);
std::optional<GroupEntry> find_group_in(const std::string& group_file, std::string_view name);
std::vector<gid_t> account_groups_in(const std::string& group_file, std::string_view name,
                                     gid_t gid);

} // namespace toolkit
