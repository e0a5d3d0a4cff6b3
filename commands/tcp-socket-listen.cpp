// tcp-socket-listen: a listening TCP socket on descriptor 3+n, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "inet.hpp"
#include "listen_fds.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace toolkit::applets {

namespace {

constexpr int default_backlog = 20;
// Linux 4.15's IPv6 twin of IP_FREEBIND; only <linux/in6.h> has it, and that
// header clashes with <netinet/in.h>.
constexpr int ipv6_freebind = 78;

const OptionSpec options[] = {
    {"backlog", 'b', OptionKind::number, "N", "let N connections wait to be accepted (default 20)",
     0, INT_MAX},
    {"ipv6-only", 0, OptionKind::flag, "", "on ::, take IPv6 clients only (no IPv4-mapped ones)"},
    {"reuse-port", 0, OptionKind::flag, "", "turn on SO_REUSEPORT: servers may share the port"},
    {"bind-to-device", 0, OptionKind::text, "IFACE", "take connections through IFACE only"},
    {"free-bind", 0, OptionKind::flag, "", "bind even before HOST is on any interface"},
    {"upstart-compatibility", 0, OptionKind::flag, "", "set UPSTART_FDS and UPSTART_EVENTS"},
    {"systemd-compatibility", 0, OptionKind::flag, "", "append the socket to a LISTEN_FDS set"},
    {"name", 0, OptionKind::text, "NAME", "the socket's name in LISTEN_FDNAMES"},
};

struct TcpListenPlan {
    InetAddress address;
    int backlog = default_backlog;
    bool ipv6_only = false;
    bool reuse_port = false;
    std::string device;
    bool free_bind = false;
    ListenAnnouncement announcement;
};

void set_option(int fd, int level, int option, int value, const char* what) {
    if (::setsockopt(fd, level, option, &value, sizeof value) < 0) throw system_error(what, errno);
}

class TcpListen : public Step {
  public:
    explicit TcpListen(TcpListenPlan plan) : plan_(std::move(plan)) {}

    void run(Chain& chain) override {
        const bool v6 = plan_.address.family() == AF_INET6;
        int inherited =
            plan_.announcement.systemd ? inherited_listen_fds(chain.environment, ::getpid()) : 0;
        UniqueFd socket(::socket(plan_.address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("socket", errno);
        int fd = socket.get();
        // A restarted server binds again while the old one's connections linger in TIME_WAIT.
        set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        if (plan_.reuse_port) set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
        // Set either way: the system default (net.ipv6.bindv6only) must not decide.
        if (v6) set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, plan_.ipv6_only, "IPV6_V6ONLY");
        if (plan_.free_bind) {
            if (v6)
                set_option(fd, IPPROTO_IPV6, ipv6_freebind, 1, "IPV6_FREEBIND");
            else
                set_option(fd, IPPROTO_IP, IP_FREEBIND, 1, "IP_FREEBIND");
        }
        if (!plan_.device.empty() &&
            ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, plan_.device.c_str(),
                         static_cast<socklen_t>(plan_.device.size())) < 0)
            throw system_error("SO_BINDTODEVICE " + plan_.device, errno);
        if (::bind(fd, plan_.address.get(), plan_.address.length()) < 0)
            throw system_error(plan_.address.describe(), errno);
        if (::listen(fd, plan_.backlog) < 0) throw system_error(plan_.address.describe(), errno);
        fd_move(first_listen_fd + inherited, socket.release());
        announce_listener(chain.environment, plan_.announcement, inherited);
    }

  private:
    TcpListenPlan plan_;
};

// Everything is checked here, the interface included, so that a bad
// argument stops the whole chain before any link has made a socket.
std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    TcpListenPlan plan;
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
    if (plan.ipv6_only && plan.address.family() != AF_INET6)
        throw usage_error("--ipv6-only", "HOST " + std::string(host) + " is an IPv4 address");
    invocation.next_program();
    return std::make_unique<TcpListen>(std::move(plan));
}

} // namespace

extern const AppletInfo tcp_socket_listen{
    {"tcp-socket-listen", "HOST PORT NEXT-PROG [ARGS...]",
     "Listen for TCP connections on the numeric address HOST and PORT (:: takes IPv4 and IPv6), on "
     "descriptor 3 (or the next one in a LISTEN_FDS set), then run NEXT-PROG.",
     options, "tcp-listen"},
    plan,
};

} // namespace toolkit::applets
