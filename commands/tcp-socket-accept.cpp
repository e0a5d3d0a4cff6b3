// tcp-socket-accept: the UCSPI server for TCP, on the shared accept loop.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "inet.hpp"
#include "server.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"connection-limit", 'c', OptionKind::number, "N",
     "serve at most N connections at once (default 40)", 1, INT_MAX},
    {"connection-limit-per-source", 'C', OptionKind::number, "N",
     "serve at most N connections at once per client address; close the others", 1, INT_MAX},
    {"per-source-prefix4", 0, OptionKind::number, "BITS",
     "count IPv4 clients for -C per /BITS network (default 32)", 0, 32},
    {"per-source-prefix6", 0, OptionKind::number, "BITS",
     "count IPv6 clients for -C per /BITS network (default 64)", 0, 128},
    {"localname", 'l', OptionKind::text, "NAME", "set TCPLOCALHOST to NAME"},
    {"keepalives", 'k', OptionKind::flag, "", "turn on TCP keepalives (SO_KEEPALIVE)"},
    {"no-delay", 'D', OptionKind::flag, "", "send small writes at once (TCP_NODELAY)"},
    {"verbose", 'v', OptionKind::flag, "", "log each connection and each child's end on stderr"},
    {"quiet", 'q', OptionKind::flag, "", "write no error line for a connection refused by -C"},
};

// Set per connection, or never (no DNS, no ident): an outer value must not leak through.
constexpr const char* tcp_variables[] = {"TCPLOCALIP",   "TCPLOCALPORT",  "TCPLOCALHOST",
                                         "TCPREMOTEIP",  "TCPREMOTEPORT", "TCPREMOTEHOST",
                                         "TCPREMOTEINFO"};

constexpr unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct TcpSettings {
    std::optional<std::string> localname;
    unsigned prefix4 = 32;
    unsigned prefix6 = 64;
    bool keepalives = false;
    bool no_delay = false;
};

// The client's network as a -C key: its address as IPv6 (IPv4 as v4-mapped,
// so that the two never meet), with the bits beyond the prefix cleared.
SourceKey source_of(const sockaddr_storage& peer, const TcpSettings& settings) {
    SourceKey key;
    if (peer.ss_family == AF_INET) {
        std::memcpy(key.bytes.data(), v4_mapped_prefix, sizeof v4_mapped_prefix);
        std::memcpy(key.bytes.data() + 12, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
    } else {
        std::memcpy(key.bytes.data(), &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, 16);
    }
    bool v4 = std::memcmp(key.bytes.data(), v4_mapped_prefix, sizeof v4_mapped_prefix) == 0;
    unsigned prefix = v4 ? settings.prefix4 : settings.prefix6;
    key.prefix = static_cast<unsigned char>(prefix);
    unsigned kept = v4 ? 96 + prefix : prefix;
    for (unsigned bit = kept; bit < 128; ++bit)
        key.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    return key;
}

// The address a client of a wildcard listener connected to. Not
// local_inet_address(): its message would name our descriptor, which
// tells the reader nothing.
std::string connected_address(int fd) {
    sockaddr_storage local{};
    socklen_t size = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) < 0)
        throw system_error("local address of a connection", errno);
    return InetAddress(local, size).host();
}

// The TCP part: addresses and ports of both ends, the client's network for -C.
class TcpFamily : public Family {
  public:
    explicit TcpFamily(TcpSettings settings) : settings_(std::move(settings)) {}

    int socket_type() const override { return SOCK_STREAM; }
    bool takes_domain(int domain) const override { return domain == AF_INET || domain == AF_INET6; }
    std::string_view domain_name() const override { return "a TCP (AF_INET or AF_INET6) socket"; }
    std::string_view type_name() const override { return "a stream socket"; }
    std::string_view proto() const override { return "TCP"; }
    std::span<const char* const> variables() const override { return tcp_variables; }

    void add_listener(int fd) override {
        // SCTP has stream sockets of the same families: say so rather than serve it.
        int protocol = 0;
        socklen_t size = sizeof protocol;
        if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size) < 0)
            throw system_error(descriptor_name(fd), errno);
        if (protocol != IPPROTO_TCP)
            throw Failure(exit_failure, descriptor_name(fd),
                          "not a TCP socket but a stream socket of protocol " +
                              std::to_string(protocol));
        // Every connection has the listener's port, and, unless it listens
        // on every address, its address: no getsockname per connection then.
        InetAddress local = local_inet_address(fd);
        listeners_.push_back(
            {local.is_wildcard() ? std::string() : local.host(), std::to_string(local.port())});
    }

    bool describe(std::size_t index, int fd, const sockaddr_storage& peer, socklen_t length,
                  bool verbose, Connection& connection) override {
        try {
            if (settings_.keepalives)
                set_socket_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
            if (settings_.no_delay)
                set_socket_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
            InetAddress remote(peer, length);
            const Local& listener = listeners_[index];
            std::string local_ip = listener.ip.empty() ? connected_address(fd) : listener.ip;
            const std::string& local_port = listener.port;
            std::string remote_ip = remote.host();
            std::string remote_port = std::to_string(remote.port());
            ConnectionVariables& variables = connection.variables;
            variables.add("TCPLOCALIP", local_ip);
            variables.add("TCPLOCALPORT", local_port);
            if (settings_.localname) variables.add("TCPLOCALHOST", *settings_.localname);
            variables.add("TCPREMOTEIP", remote_ip);
            variables.add("TCPREMOTEPORT", remote_port);
            connection.source = source_of(peer, settings_);
            if (verbose)
                connection.log = local_ip + " " + local_port + " " + remote_ip + " " + remote_port;
        } catch (const Failure& failure) {
            error(failure.subject(), failure.detail());
            return false;
        }
        return true;
    }

    std::string source_name(const Connection& connection) const override {
        sockaddr_storage storage{};
        auto& v6 = reinterpret_cast<sockaddr_in6&>(storage);
        v6.sin6_family = AF_INET6;
        std::memcpy(&v6.sin6_addr, connection.source.bytes.data(), 16);
        std::string name = InetAddress(storage, sizeof v6).host();
        bool v4 = std::memcmp(connection.source.bytes.data(), v4_mapped_prefix,
                              sizeof v4_mapped_prefix) == 0;
        if (connection.source.prefix != (v4 ? 32u : 128u))
            name.append("/").append(std::to_string(connection.source.prefix));
        return name;
    }
    std::string_view per_source() const override { return "per source address"; }

  private:
    TcpSettings settings_;
    struct Local {
        std::string ip; // TCPLOCALIP; empty when the listener takes every address
        std::string port;
    };
    std::vector<Local> listeners_;
};

class Accept : public Step {
  public:
    Accept(ServerSettings settings, TcpSettings tcp)
        : settings_(settings), family_(std::move(tcp)) {}
    [[noreturn]] void run(Chain& chain) override { serve(chain, settings_, family_); }

  private:
    ServerSettings settings_;
    TcpFamily family_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    ServerSettings settings = read_server_settings(given, "connection-limit-per-source");
    TcpSettings tcp;
    if (auto name = given.text("localname")) tcp.localname = std::string(*name);
    tcp.prefix4 = static_cast<unsigned>(given.number("per-source-prefix4").value_or(32));
    tcp.prefix6 = static_cast<unsigned>(given.number("per-source-prefix6").value_or(64));
    tcp.keepalives = given.has("keepalives");
    tcp.no_delay = given.has("no-delay");
    invocation.next_program();
    invocation.planned().per_connection = true;
    invocation.planned().group_leader = false; // each child is a new process
    return std::make_unique<Accept>(settings, std::move(tcp));
}

} // namespace

extern const AppletInfo tcp_socket_accept{
    {"tcp-socket-accept", "NEXT-PROG [ARGS...]",
     "Accept connections on the listening TCP sockets from descriptor 3 on (or LISTEN_FDS), "
     "running NEXT-PROG for each with the connection on descriptors 0 and 1.",
     options, "tcp-accept"},
    plan,
};

} // namespace toolkit::applets
