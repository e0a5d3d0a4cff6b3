// tcp-socket-connect: connect to a numeric TCP address, the connection on 6 and 7, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "client.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "inet.hpp"

#include <cerrno>
#include <optional>
#include <string>
#include <sys/socket.h>

namespace toolkit::applets {

namespace {

// The longest wait poll(2) can be given, in seconds.
constexpr std::uint64_t max_timeout = 2147483;

const OptionSpec options[] = {
    {"local-address", 0, OptionKind::text, "A", "connect from the numeric address A"},
    {"local-port", 0, OptionKind::number, "P", "connect from port P", 0, 65535},
    {"connect-timeout", 0, OptionKind::number, "SECONDS",
     "give up when no connection is made within SECONDS", 1, max_timeout},
};

// UCSPI-TCP variables this client has no value for (no DNS, no ident):
// left set by an outer server, they would describe another connection.
constexpr const char* foreign_variables[] = {"TCPLOCALHOST", "TCPREMOTEHOST", "TCPREMOTEINFO"};

struct TcpConnectPlan {
    InetAddress remote;
    std::optional<InetAddress> local;
    int timeout_ms = -1;
};

class TcpConnect : public Step {
  public:
    explicit TcpConnect(const TcpConnectPlan& plan) : plan_(plan) {}

    void run(Chain& chain) override {
        UniqueFd socket(
            ::socket(plan_.remote.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!socket) throw system_error("socket", errno);
        // A port given again while its last connection lingers in TIME_WAIT
        // can be bound (tcpclient's -p cannot).
        if (plan_.local && plan_.local->port() != 0)
            set_socket_option(socket.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        if (plan_.local && ::bind(socket.get(), plan_.local->get(), plan_.local->length()) < 0)
            throw system_error(plan_.local->describe(), errno);
        if (int error = connect_within(socket.get(), plan_.remote.get(), plan_.remote.length(),
                                       plan_.timeout_ms))
            throw system_error(plan_.remote.describe(), error);
        InetAddress local = local_inet_address(socket.get());
        InetAddress remote = remote_inet_address(socket.get());
        hand_over_connection(std::move(socket));

        PendingEnvironment& environment = chain.environment;
        environment.set("PROTO", "TCP");
        environment.set("TCPLOCALIP", local.host());
        environment.set("TCPLOCALPORT", std::to_string(local.port()));
        environment.set("TCPREMOTEIP", remote.host());
        environment.set("TCPREMOTEPORT", std::to_string(remote.port()));
        for (const char* name : foreign_variables)
            environment.unset(name);
    }

  private:
    TcpConnectPlan plan_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    TcpConnectPlan plan;
    if (auto seconds = given.number("connect-timeout"))
        plan.timeout_ms = static_cast<int>(*seconds * 1000);
    std::string_view host = invocation.operand("HOST");
    plan.remote = parse_inet_address("HOST", host, 0);
    plan.remote.set_port(parse_port("PORT", invocation.operand("PORT")));
    auto local_port = static_cast<std::uint16_t>(given.number("local-port").value_or(0));
    if (auto address = given.text("local-address")) {
        plan.local = parse_inet_address("--local-address", *address, local_port);
        if (plan.local->lacks_scope()) throw scope_needed("--local-address", *address);
        if (plan.local->family() != plan.remote.family())
            throw usage_error("--local-address", std::string(*address) + " and HOST " +
                                                     std::string(host) +
                                                     " are not of one address family");
    } else if (given.has("local-port")) {
        plan.local = parse_inet_address(
            "--local-port", plan.remote.family() == AF_INET6 ? "::" : "0.0.0.0", local_port);
    }
    // A scoped link-local --local-address names the interface for both ends.
    if (plan.remote.lacks_scope() &&
        !(plan.local && plan.local->is_link_local() && plan.local->scope() != 0))
        throw scope_needed("HOST", host);
    invocation.next_program();
    return std::make_unique<TcpConnect>(plan);
}

} // namespace

extern const AppletInfo tcp_socket_connect{
    {"tcp-socket-connect", "HOST PORT NEXT-PROG [ARGS...]",
     "Connect to the numeric TCP address HOST and PORT, then run NEXT-PROG with the connection on "
     "descriptors 6 (read) and 7 (write).",
     options, "tcp-connect"},
    plan,
};

} // namespace toolkit::applets
