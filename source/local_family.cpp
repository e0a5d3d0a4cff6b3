// The UNIX part of the accept loop: listener names, client credentials and groups.
#include "local_family.hpp"

#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <sys/socket.h>

namespace toolkit {

namespace {

// Set per connection; an outer value must never leak through when ours is unset.
// UNIXLOCALUID, UNIXLOCALGID and UNIXLOCALPID describe a server's own
// identity (ucspi-unix sets them): never set here, never passed on.
constexpr const char* unix_variables[] = {"UNIXLOCALPATH",  "UNIXREMOTEPATH", "UNIXREMOTEPID",
                                          "UNIXREMOTEEUID", "UNIXREMOTEEGID", "UNIXREMOTEGIDLIST",
                                          "UNIXLOCALUID",   "UNIXLOCALGID",   "UNIXLOCALPID"};

// Comma-separated supplementary groups of the peer, where the kernel says (SO_PEERGROUPS).
std::optional<std::string> peer_groups(int fd) {
    gid_t small[64];
    std::vector<gid_t> large;
    gid_t* groups = small;
    socklen_t length = sizeof small;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) < 0) {
        if (errno != ERANGE) return std::nullopt;
        large.resize(length / sizeof(gid_t) + 1);
        groups = large.data();
        length = static_cast<socklen_t>(large.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) < 0) return std::nullopt;
    }
    std::string list;
    for (std::size_t i = 0; i < length / sizeof(gid_t); ++i) {
        if (i) list.push_back(',');
        list.append(std::to_string(groups[i]));
    }
    return list;
}

void add_number(ConnectionVariables& variables, std::string_view name, unsigned long number) {
    variables.add(name, std::to_string(number));
}

} // namespace

LocalFamily::LocalFamily(int type, std::optional<std::string> localname)
    : type_(type), localname_(std::move(localname)) {}

bool LocalFamily::takes_domain(int domain) const {
    return domain == AF_UNIX;
}

std::string_view LocalFamily::type_name() const {
    return type_ == SOCK_SEQPACKET ? "a SOCK_SEQPACKET socket" : "a stream socket";
}

std::span<const char* const> LocalFamily::variables() const {
    return unix_variables;
}

void LocalFamily::add_listener(int fd) {
    if (localname_) {
        names_.push_back(*localname_);
        return;
    }
    sockaddr_un address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0)
        throw system_error(descriptor_name(fd), errno);
    names_.push_back(describe_local_address(address, length));
}

bool LocalFamily::describe(std::size_t index, int fd, const sockaddr_storage& peer,
                           socklen_t length, bool verbose, Connection& connection) {
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) < 0) {
        error("peer credentials", std::strerror(errno));
        return false;
    }
    std::string remote = describe_local_address(reinterpret_cast<const sockaddr_un&>(peer), length);
    ConnectionVariables& variables = connection.variables;
    variables.add("UNIXLOCALPATH", names_[index]);
    if (!remote.empty()) variables.add("UNIXREMOTEPATH", remote);
    add_number(variables, "UNIXREMOTEPID", static_cast<unsigned long>(credentials.pid));
    add_number(variables, "UNIXREMOTEEUID", credentials.uid);
    add_number(variables, "UNIXREMOTEEGID", credentials.gid);
    if (auto groups = peer_groups(fd)) variables.add("UNIXREMOTEGIDLIST", *groups);
    connection.source = SourceKey{};
    std::memcpy(connection.source.bytes.data(), &credentials.uid, sizeof credentials.uid);
    if (verbose)
        connection.log = log_field(names_[index]) + " " + log_field(remote) + " " +
                         std::to_string(credentials.pid) + " " + std::to_string(credentials.uid) +
                         " " + std::to_string(credentials.gid);
    return true;
}

std::string LocalFamily::source_name(const Connection& connection) const {
    uid_t uid;
    std::memcpy(&uid, connection.source.bytes.data(), sizeof uid);
    return "uid " + std::to_string(uid);
}

namespace {

const OptionSpec options[] = {
    {"connection-limit", 'c', OptionKind::number, "N",
     "serve at most N connections at once (default 40)", 1, INT_MAX},
    {"connection-limit-per-uid", 'C', OptionKind::number, "N",
     "serve at most N connections at once per client euid; close the others", 1, INT_MAX},
    {"localname", 'l', OptionKind::text, "PATH",
     "set UNIXLOCALPATH to PATH instead of the socket's name"},
    {"verbose", 'v', OptionKind::flag, "", "log each connection and each child's end on stderr"},
    {"quiet", 'q', OptionKind::flag, "", "write no error line for a connection refused by -C"},
};

class Accept : public Step {
  public:
    Accept(ServerSettings settings, int type, std::optional<std::string> localname)
        : settings_(settings), family_(type, std::move(localname)) {}
    [[noreturn]] void run(Chain& chain) override { serve(chain, settings_, family_); }

  private:
    ServerSettings settings_;
    LocalFamily family_;
};

} // namespace

std::span<const OptionSpec> local_accept_options() {
    return options;
}

std::unique_ptr<Step> plan_local_accept(Invocation& invocation, int type) {
    const ParsedOptions& given = invocation.options();
    ServerSettings settings = read_server_settings(given, "connection-limit-per-uid");
    std::optional<std::string> localname;
    if (auto name = given.text("localname")) localname = std::string(*name);
    invocation.next_program();
    invocation.planned().per_connection = true;
    invocation.planned().group_leader = false; // each child is a new process
    return std::make_unique<Accept>(settings, type, std::move(localname));
}

} // namespace toolkit
