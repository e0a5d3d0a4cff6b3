// Account look-ups, and the passwd/group parser for builds without NSS.
#include "accounts.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"
#include "numbers.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#ifndef TOOLKIT_FILES_ACCOUNTS
#include <grp.h>
#include <pwd.h>
#endif

namespace toolkit {

namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> fields;
    for (;;) {
        std::size_t at = text.find(separator);
        fields.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return fields;
        text.remove_prefix(at + 1);
    }
}

// The whole file, or nullopt (errno set) when it cannot be read.
std::optional<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string content;
    char buffer[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) return content;
        content.append(buffer, static_cast<std::size_t>(n));
    }
}

// VISIT(line) for each line of PATH until it returns true.
template <typename Visit> void for_each_raw_line(const std::string& path, Visit visit) {
    auto content = read_file(path);
    if (!content) throw system_error(path, errno);
    std::string_view rest = *content;
    while (!rest.empty()) {
        std::size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (visit(line)) return;
    }
}

template <typename Entry, typename Parse, typename Visit>
void for_each_line(const std::string& path, Parse parse, Visit visit) {
    for_each_raw_line(path, [&](std::string_view line) {
        std::optional<Entry> entry = parse(line);
        return entry && visit(*entry);
    });
}

// The first entry of FILE for NAME decides, as with the C library: one that
// cannot be read stops the look-up (fail closed) instead of letting a later
// line with the same name, perhaps uid 0, stand in for it.
template <typename Entry, typename Parse>
std::optional<Entry> first_entry_named(const std::string& file, std::string_view name,
                                       Parse parse) {
    std::optional<Entry> found;
    for_each_raw_line(file, [&](std::string_view line) {
        if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') return false;
        if (line.substr(0, line.find(':')) != name) return false;
        found = parse(line);
        if (!found) throw lookup_error(std::string(name), "its entry in " + file + " is malformed");
        return true;
    });
    return found;
}

#ifdef TOOLKIT_FILES_ACCOUNTS
const std::string passwd_path = "/etc/passwd";
const std::string group_path = "/etc/group";
#endif

// Shared by both builds: an empty name would be looked up and reported as
// "no such account" with nothing to say which word was empty.
void check_name(std::string_view subject, std::string_view name, const char* what) {
    if (name.empty())
        throw usage_error(std::string(subject), std::string("empty ") + what + " name");
}

} // namespace

std::optional<std::uint32_t> read_account_id(std::string_view text) {
    if (text.empty() || text.size() > 10) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max_account_id) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

std::optional<Account> parse_passwd_line(std::string_view line) {
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') return std::nullopt;
    auto fields = split(line, ':');
    if (fields.size() != 7 || fields[0].empty()) return std::nullopt;
    auto uid = read_account_id(fields[2]);
    auto gid = read_account_id(fields[3]);
    if (!uid || !gid) return std::nullopt;
    return Account{std::string(fields[0]), *uid, *gid};
}

std::optional<GroupEntry> parse_group_line(std::string_view line) {
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') return std::nullopt;
    auto fields = split(line, ':');
    if (fields.size() != 4 || fields[0].empty()) return std::nullopt;
    auto gid = read_account_id(fields[2]);
    if (!gid) return std::nullopt;
    GroupEntry entry{std::string(fields[0]), *gid, {}};
    if (!fields[3].empty())
        for (std::string_view member : split(fields[3], ','))
            if (!member.empty()) entry.members.emplace_back(member);
    return entry;
}

std::optional<Account> find_account_in(const std::string& passwd_file, std::string_view name) {
    return first_entry_named<Account>(passwd_file, name, parse_passwd_line);
}

std::optional<GroupEntry> find_group_in(const std::string& group_file, std::string_view name) {
    return first_entry_named<GroupEntry>(group_file, name, parse_group_line);
}

std::vector<gid_t> account_groups_in(const std::string& group_file, std::string_view name,
                                     gid_t gid) {
    std::vector<gid_t> groups{gid};
    for_each_line<GroupEntry>(group_file, parse_group_line, [&](GroupEntry& group) {
        bool member =
            std::find(group.members.begin(), group.members.end(), name) != group.members.end();
        if (member && std::find(groups.begin(), groups.end(), group.gid) == groups.end())
            groups.push_back(group.gid);
        return false;
    });
    return groups;
}

#ifdef TOOLKIT_FILES_ACCOUNTS

std::optional<Account> lookup_account(std::string_view name) {
    return find_account_in(passwd_path, name);
}

std::optional<gid_t> lookup_group(std::string_view name) {
    auto group = find_group_in(group_path, name);
    if (!group) return std::nullopt;
    return group->gid;
}

Account find_account(std::string_view subject, std::string_view name) {
    check_name(subject, name, "account");
    auto account = lookup_account(name);
    if (!account) throw lookup_error(std::string(name), "no such account in " + passwd_path);
    return *account;
}

gid_t find_group(std::string_view subject, std::string_view name) {
    check_name(subject, name, "group");
    auto gid = lookup_group(name);
    if (!gid) throw lookup_error(std::string(name), "no such group in " + group_path);
    return *gid;
}

std::vector<gid_t> account_groups(std::string_view name, gid_t gid) {
    return account_groups_in(group_path, name, gid);
}

#else

std::optional<Account> lookup_account(std::string_view name) {
    std::string key(name);
    errno = 0;
    const struct passwd* entry = ::getpwnam(key.c_str());
    if (!entry) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH) throw system_error(key, errno);
        return std::nullopt;
    }
    return Account{entry->pw_name, entry->pw_uid, entry->pw_gid};
}

std::optional<gid_t> lookup_group(std::string_view name) {
    std::string key(name);
    errno = 0;
    const struct group* entry = ::getgrnam(key.c_str());
    if (!entry) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH) throw system_error(key, errno);
        return std::nullopt;
    }
    return entry->gr_gid;
}

Account find_account(std::string_view subject, std::string_view name) {
    check_name(subject, name, "account");
    auto account = lookup_account(name);
    if (!account) throw lookup_error(std::string(name), "no such account");
    return *account;
}

gid_t find_group(std::string_view subject, std::string_view name) {
    check_name(subject, name, "group");
    auto gid = lookup_group(name);
    if (!gid) throw lookup_error(std::string(name), "no such group");
    return *gid;
}

std::vector<gid_t> account_groups(std::string_view name, gid_t gid) {
    std::string key(name);
    std::vector<gid_t> groups(32);
    for (;;) {
        int count = static_cast<int>(groups.size());
        if (::getgrouplist(key.c_str(), gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            break;
        }
        if (static_cast<std::size_t>(count) <= groups.size())
            count = static_cast<int>(groups.size() * 2);
        groups.resize(static_cast<std::size_t>(count));
    }
    // getgrouplist puts GID somewhere in the list; we want it first and once.
    groups.erase(std::remove(groups.begin(), groups.end(), gid), groups.end());
    groups.insert(groups.begin(), gid);
    return groups;
}

#endif

gid_t find_group_or_number(std::string_view subject, std::string_view text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos)
        return static_cast<gid_t>(parse_number(subject, text, 0, max_account_id));
    return find_group(subject, text);
}

} // namespace toolkit
