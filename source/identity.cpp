// Changing identity in the one safe order, and checking the result.
#include "identity.hpp"

#include "accounts.hpp"
#include "diagnostics.hpp"
#include "numbers.hpp"

#include <cerrno>
#include <grp.h>
#include <string>
#include <unistd.h>

namespace toolkit {

namespace {

std::optional<Identity> numeric_identity(std::string_view account) {
    std::size_t colon = account.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto uid =
        static_cast<uid_t>(parse_number("ACCOUNT", account.substr(0, colon), 0, max_account_id));
    auto gid =
        static_cast<gid_t>(parse_number("ACCOUNT", account.substr(colon + 1), 0, max_account_id));
    return Identity{uid, gid, {}};
}

} // namespace

Identity identity_of(std::string_view account, bool supplementary,
                     std::optional<std::string_view> primary_group) {
    Identity identity;
    if (auto numeric = numeric_identity(account)) {
        if (supplementary)
            throw usage_error("--supplementary", "needs an account name, not UID:GID");
        identity = *numeric;
    } else {
        Account found = find_account("ACCOUNT", account);
        identity = Identity{found.uid, found.gid, {}};
    }
    if (primary_group) identity.gid = find_group_or_number("--primary-group", *primary_group);
    identity.groups =
        supplementary ? account_groups(account, identity.gid) : std::vector<gid_t>{identity.gid};
    return identity;
}

void assume_identity(const Identity& identity) {
    // Groups first: after setgid/setuid we would no longer be allowed to.
    if (::setgroups(identity.groups.size(), identity.groups.data()) < 0)
        throw system_error("setgroups", errno);
    if (::setgid(identity.gid) < 0)
        throw system_error("setgid " + std::to_string(identity.gid), errno);
    if (::setuid(identity.uid) < 0)
        throw system_error("setuid " + std::to_string(identity.uid), errno);

    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (::getresuid(&ruid, &euid, &suid) < 0) throw system_error("getresuid", errno);
    if (::getresgid(&rgid, &egid, &sgid) < 0) throw system_error("getresgid", errno);
    if (ruid != identity.uid || euid != identity.uid || suid != identity.uid)
        throw Failure(exit_failure, "setuid",
                      "user ids are not all " + std::to_string(identity.uid));
    if (rgid != identity.gid || egid != identity.gid || sgid != identity.gid)
        throw Failure(exit_failure, "setgid",
                      "group ids are not all " + std::to_string(identity.gid));
    if (identity.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
        throw Failure(exit_failure, "setuid", "root privileges could be regained");
}

} // namespace toolkit
