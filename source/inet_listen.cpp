// One TCP or UDP socket bound to a numeric address (and, for TCP, listening) on descriptor 3+n.
#include "inet_listen.hpp"

#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "inet.hpp"
#include "listen_fds.hpp"
#include "readiness.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace toolkit {

namespace {

constexpr int default_backlog = 20;
// Linux 4.15's IPv6 twin of IP_FREEBIND; only <linux/in6.h> has it, and that
// header clashes with <netinet/in.h>.
constexpr int ipv6_freebind = 78;

#define TOOLKIT_ADDRESS_OPTIONS                                                                    \
    {"ipv6-only", 0, OptionKind::flag, "", "on ::, take IPv6 peers only (no IPv4-mapped ones)"},   \
        {"reuse-port", 0, OptionKind::flag, "",                                                    \
         "turn on SO_REUSEPORT: servers may share the port"},                                      \
        {"bind-to-device", 0, OptionKind::text, "IFACE", "take traffic through IFACE only"},       \
        {"free-bind", 0, OptionKind::flag, "", "bind even before HOST is on any interface"},       \
        {"upstart-compatibility", 0, OptionKind::flag, "", "set UPSTART_FDS and UPSTART_EVENTS"},  \
        {"systemd-compatibility", 0, OptionKind::flag, "",                                         \
         "append the socket to a LISTEN_FDS set"},                                                 \
        {"name", 0, OptionKind::text, "NAME", "the socket's name in LISTEN_FDNAMES"},

// TCP sockets listen, with a backlog; UDP sockets are only bound.
const OptionSpec stream_options[] = {{"backlog", 'b', OptionKind::number, "N",
                                      "let N connections wait to be accepted (default 20)", 0,
                                      INT_MAX},
                                     TOOLKIT_ADDRESS_OPTIONS TOOLKIT_READINESS_OPTIONS};
const OptionSpec datagram_options[] = {TOOLKIT_ADDRESS_OPTIONS TOOLKIT_READINESS_OPTIONS};
#undef TOOLKIT_ADDRESS_OPTIONS

struct InetListenPlan {
    int type; // SOCK_STREAM or SOCK_DGRAM
    InetAddress address;
    int backlog = default_backlog;
    bool ipv6_only = false;
    bool reuse_port = false;
    std::string device;
    bool free_bind = false;
    ListenAnnouncement announcement;
    Readiness readiness;
};

class InetListen : public Step {
  public:
    explicit InetListen(InetListenPlan plan) : plan_(std::move(plan)) {}
    const Readiness* readiness() const override { return &plan_.readiness; }

    void run(Chain& chain) override {
        const bool v6 = plan_.address.family() == AF_INET6;
        int inherited =
            plan_.announcement.systemd ? inherited_listen_fds(chain.environment, ::getpid()) : 0;
        int target = first_listen_fd + inherited;
        if (chain.readiness().notify_fd == target)
            throw usage_error("--notify-fd", descriptor_name(target) + " is where the socket goes");
        UniqueFd socket(::socket(plan_.address.family(), plan_.type | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("socket", errno);
        int fd = socket.get();
        // A restarted server binds again while the old one's connections linger in TIME_WAIT.
        // UDP has no such state, and there the option would let a second
        // socket share the port: only --reuse-port says so.
        if (plan_.type == SOCK_STREAM)
            set_socket_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        if (plan_.reuse_port) set_socket_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
        // Set either way: the system default (net.ipv6.bindv6only) must not decide.
        if (v6) set_socket_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, plan_.ipv6_only, "IPV6_V6ONLY");
        if (plan_.free_bind) {
            if (v6)
                set_socket_option(fd, IPPROTO_IPV6, ipv6_freebind, 1, "IPV6_FREEBIND");
            else
                set_socket_option(fd, IPPROTO_IP, IP_FREEBIND, 1, "IP_FREEBIND");
        }
        if (!plan_.device.empty() &&
            ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, plan_.device.c_str(),
                         static_cast<socklen_t>(plan_.device.size())) < 0)
            throw system_error("SO_BINDTODEVICE " + plan_.device, errno);
        if (::bind(fd, plan_.address.get(), plan_.address.length()) < 0)
            throw system_error(plan_.address.describe(), errno);
        if (plan_.type == SOCK_STREAM && ::listen(fd, plan_.backlog) < 0)
            throw system_error(plan_.address.describe(), errno);
        fd_move(target, socket.release());
        announce_listener(chain.environment, plan_.announcement, inherited);
    }

  private:
    InetListenPlan plan_;
};

} // namespace

std::span<const OptionSpec> inet_listen_options(int type) {
    if (type == SOCK_DGRAM) return datagram_options;
    return stream_options;
}

// Everything is checked here, the interface included, so that a bad
// argument stops the whole chain before any link has made a socket.
std::unique_ptr<Step> plan_inet_listen(Invocation& invocation, int type) {
    const ParsedOptions& given = invocation.options();
    InetListenPlan plan;
    plan.type = type;
    plan.readiness = read_readiness(given);
    plan.backlog = static_cast<int>(given.number("backlog").value_or(default_backlog));
    plan.ipv6_only = given.has("ipv6-only");
    plan.reuse_port = given.has("reuse-port");
    plan.free_bind = given.has("free-bind");
    plan.announcement.systemd = given.has("systemd-compatibility");
    plan.announcement.upstart = given.has("upstart-compatibility");
    if (auto name = given.text("name")) {
        if (!plan.announcement.systemd)
            throw usage_error("--name", "needs --systemd-compatibility");
        check_listen_fd_name(*name);
        plan.announcement.name = std::string(*name);
    }
    if (auto device = given.text("bind-to-device")) {
        interface_index("--bind-to-device", *device);
        plan.device = std::string(*device);
    }
    std::string_view host = invocation.operand("HOST");
    plan.address = parse_inet_address("HOST", host, 0);
    plan.address.set_port(parse_port("PORT", invocation.operand("PORT")));
    if (plan.ipv6_only && (plan.address.family() != AF_INET6 || plan.address.is_v4_mapped()))
        throw usage_error("--ipv6-only", "HOST " + std::string(host) + " is an IPv4 address");
    // --bind-to-device names the interface as well as a scope does.
    if (plan.address.lacks_scope() && plan.device.empty()) throw scope_needed("HOST", host);
    invocation.next_program();
    return std::make_unique<InetListen>(std::move(plan));
}

} // namespace toolkit
