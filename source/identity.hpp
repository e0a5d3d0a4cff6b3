// Dropping privileges: groups, then gid, then uid, then proof that root is gone.
#pragma once

#include <sys/types.h>
#include <vector>

namespace toolkit {

struct Identity {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups; // the complete supplementary list
};

// Throws exit 111 naming the call that failed; on any failure the caller
// must not run anything further (the identity may be partly changed).
void assume_identity(const Identity& identity);

} // namespace toolkit
