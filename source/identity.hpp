// Dropping privileges: groups, then gid, then uid, then proof that root is gone.
#pragma once

#include <optional>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace toolkit {

struct Identity {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups; // the complete supplementary list
};

// Who ACCOUNT is, looked up now: a user name (its uid, its primary gid or the
// group PRIMARY_GROUP names, and that gid alone or, with SUPPLEMENTARY, every
// group that lists the user too), or "UID:GID" (two C numbers) for systems
// without a user database. Unknown names are exit 111, bad numbers 100.
Identity identity_of(std::string_view account, bool supplementary,
                     std::optional<std::string_view> primary_group = std::nullopt);

// Throws exit 111 naming the call that failed; on any failure the caller
// must not run anything further (the identity may be partly changed).
void assume_identity(const Identity& identity);

} // namespace toolkit
