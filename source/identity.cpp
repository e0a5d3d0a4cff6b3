// Changing identity in the one safe order, and checking the result.
#include "identity.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <grp.h>
#include <string>
#include <unistd.h>

namespace toolkit {

void assume_identity(const Identity& identity) {
    // Groups first: after setgid/setuid we would no longer be allowed to.
    if (::setgroups(identity.groups.size(), identity.groups.data()) < 0)
        throw system_error("setgroups", errno);
    if (::setgid(identity.gid) < 0) throw system_error("setgid " + std::to_string(identity.gid), errno);
    if (::setuid(identity.uid) < 0) throw system_error("setuid " + std::to_string(identity.uid), errno);

    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (::getresuid(&ruid, &euid, &suid) < 0) throw system_error("getresuid", errno);
    if (::getresgid(&rgid, &egid, &sgid) < 0) throw system_error("getresgid", errno);
    if (ruid != identity.uid || euid != identity.uid || suid != identity.uid)
        throw Failure(exit_failure, "setuid", "user ids are not all " + std::to_string(identity.uid));
    if (rgid != identity.gid || egid != identity.gid || sgid != identity.gid)
        throw Failure(exit_failure, "setgid", "group ids are not all " + std::to_string(identity.gid));
    if (identity.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
        throw Failure(exit_failure, "setuid", "root privileges could be regained");
}

} // namespace toolkit
