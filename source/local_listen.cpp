// One local socket node made safely, bound and (but for datagram sockets) listening, on descriptor
// 3+n.
#include "local_listen.hpp"

#include "accounts.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "listen_fds.hpp"
#include "readiness.hpp"
#include "socket.hpp"
#include "socket_node.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace toolkit {

namespace {

constexpr uid_t keep_uid = static_cast<uid_t>(-1);
constexpr gid_t keep_gid = static_cast<gid_t>(-1);

#define TOOLKIT_NODE_OPTIONS                                                                       \
    {"uid", 'u', OptionKind::number, "N", "give the socket file to user id N", 0, max_account_id}, \
        {"gid", 'g',           OptionKind::number, "N", "give the socket file to group id N",      \
         0,     max_account_id},                                                                   \
        {"user", 0, OptionKind::text, "NAME", "give the socket file to the account NAME"},         \
        {"group", 0, OptionKind::text, "NAME", "give the socket file to the group NAME"},          \
        {"mode",                                                                                   \
         'm',                                                                                      \
         OptionKind::number,                                                                       \
         "N",                                                                                      \
         "permissions of the socket file (octal, e.g. 0660)",                                      \
         0,                                                                                        \
         07777,                                                                                    \
         true},                                                                                    \
        {"pass-credentials", 0, OptionKind::flag, "", "turn on SO_PASSCRED"},                      \
        {"pass-security", 0, OptionKind::flag, "", "turn on SO_PASSSEC"},                          \
        {"upstart-compatibility", 0, OptionKind::flag, "", "set UPSTART_FDS and UPSTART_EVENTS"},  \
        {"systemd-compatibility", 0, OptionKind::flag, "",                                         \
         "append the socket to a LISTEN_FDS set"},                                                 \
        {"name", 0, OptionKind::text, "NAME", "the socket's name in LISTEN_FDNAMES"},

// Stream and seqpacket sockets listen, with a backlog; datagram sockets are only bound.
const OptionSpec listening_options[] = {{"backlog", 'b', OptionKind::number, "N",
                                         "let N connections wait to be accepted (default 5)", 0,
                                         INT_MAX},
                                        TOOLKIT_NODE_OPTIONS TOOLKIT_READINESS_OPTIONS};
const OptionSpec bound_options[] = {TOOLKIT_NODE_OPTIONS TOOLKIT_READINESS_OPTIONS};
#undef TOOLKIT_NODE_OPTIONS

struct ListenPlan {
    const LocalListenKind* kind;
    std::string name; // PATH as given, for messages
    LocalAddress address;
    int backlog = 5;
    std::optional<mode_t> mode;
    uid_t uid = keep_uid;
    gid_t gid = keep_gid;
    bool pass_credentials = false;
    bool pass_security = false;
    bool upstart = false;
    bool systemd = false;
    std::optional<std::string> fd_name;
    Readiness readiness;
};

// The process umask for as long as the socket is being bound: bind(2) makes
// the file with 0777 minus the umask, so the mode is right from birth and no
// chmod by path is ever needed.
class UmaskGuard {
  public:
    explicit UmaskGuard(mode_t mask) : saved_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(saved_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

  private:
    mode_t saved_;
};

// Drop every datagram waiting on FD (each recv takes one whole, whatever the buffer).
void discard_queued(int fd) {
    char byte;
    for (;;) {
        ssize_t got = ::recv(fd, &byte, sizeof byte, MSG_DONTWAIT | MSG_TRUNC);
        if (got >= 0) continue;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        throw system_error("discarding early datagrams", errno);
    }
}

// The undo of a start that failed in this link or a later one. A later link
// may have dropped the privileges the removal needs (setuidgid, then a
// failure): the node is then left, and a warning says so.
void remove_node(const SocketNode& node, std::string_view applet) {
    std::string reason;
    if (node.remove(reason)) return;
    set_program_name(applet);
    warning(node.path(), "left behind after the chain failed: " + reason);
}

class Listen : public Step {
  public:
    explicit Listen(ListenPlan plan) : plan_(std::move(plan)) {}
    const Readiness* readiness() const override { return &plan_.readiness; }

    void run(Chain& chain) override {
        int inherited = plan_.systemd ? inherited_listen_fds(chain.environment, ::getpid()) : 0;
        int target = first_listen_fd + inherited;
        if (chain.readiness().notify_fd == target)
            throw usage_error("--notify-fd", descriptor_name(target) + " is where the socket goes");

        const int type = plan_.kind->type;
        UniqueFd socket(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("socket", errno);
        if (plan_.pass_credentials)
            set_socket_option(socket.get(), SOL_SOCKET, SO_PASSCRED, 1, "SO_PASSCRED");
        if (plan_.pass_security)
            set_socket_option(socket.get(), SOL_SOCKET, SO_PASSSEC, 1, "SO_PASSSEC");
        std::optional<SocketNode> node;
        if (!plan_.address.abstract()) {
            node.emplace(plan_.name);
            node->remove_stale(plan_.address, type);
        }
        {
            std::optional<UmaskGuard> umask;
            if (plan_.mode) umask.emplace(~*plan_.mode & 0777);
            // bind(2) has no *at form: the full path, so that the socket's
            // name is PATH; the checks after it catch a swapped directory.
            if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&plan_.address.address),
                       plan_.address.length) < 0)
                throw system_error(plan_.name, errno);
        }
        if (node) {
            // The undo is in place before anything else can fail.
            auto bound = std::make_shared<SocketNode>(std::move(*node));
            bound->record_bind(socket.get(), plan_.mode);
            chain.on_failure([bound, applet = plan_.kind->applet] { remove_node(*bound, applet); });
            // Owner and mode are final before listen(2): no client ever sees them otherwise.
            bound->set_owner_and_mode(plan_.uid, plan_.gid, plan_.mode);
            // A datagram socket has no listen(2) to wait for: it took datagrams
            // from bind(2) on, from senders the owner and group of that moment
            // let in and the final ones may not. None of them is handed on.
            if (type == SOCK_DGRAM && (plan_.uid != keep_uid || plan_.gid != keep_gid))
                discard_queued(socket.get());
            // Closed before the socket moves: the move could land on its number.
            bound->close_directory();
        }
        if (type != SOCK_DGRAM && ::listen(socket.get(), plan_.backlog) < 0)
            throw system_error(plan_.name, errno);
        fd_move(target, socket.release());
        announce_listener(chain.environment, {plan_.systemd, plan_.upstart, plan_.fd_name},
                          inherited);
    }

  private:
    ListenPlan plan_;
};

} // namespace

std::span<const OptionSpec> local_listen_options(int type) {
    if (type == SOCK_DGRAM) return bound_options;
    return listening_options;
}

// Everything that can be refused without touching anything is refused here,
// account names included, so a bad chain stops before the socket exists.
std::unique_ptr<Step> plan_local_listen(Invocation& invocation, const LocalListenKind& kind) {
    const ParsedOptions& given = invocation.options();
    if (given.has("uid") && given.has("user"))
        throw usage_error("--user", "cannot be used with --uid");
    if (given.has("gid") && given.has("group"))
        throw usage_error("--group", "cannot be used with --gid");

    ListenPlan plan;
    plan.kind = &kind;
    plan.backlog = static_cast<int>(given.number("backlog").value_or(5));
    if (auto mode = given.number("mode")) plan.mode = static_cast<mode_t>(*mode);
    plan.pass_credentials = given.has("pass-credentials");
    plan.pass_security = given.has("pass-security");
    plan.upstart = given.has("upstart-compatibility");
    plan.systemd = given.has("systemd-compatibility");
    plan.readiness = read_readiness(given);
    if (auto name = given.text("name")) {
        if (!plan.systemd) throw usage_error("--name", "needs --systemd-compatibility");
        check_listen_fd_name(*name);
        plan.fd_name = std::string(*name);
    }

    plan.name = std::string(invocation.operand("PATH"));
    plan.address = make_local_address("PATH", plan.name);
    if (!plan.address.abstract())
        split_socket_path("PATH", plan.name); // refused now, not when acting
    if (plan.address.abstract())
        for (const char* option : {"mode", "uid", "gid", "user", "group"})
            if (given.has(option))
                throw usage_error(std::string("--") + option, "an abstract socket (" + plan.name +
                                                                  ") has no file to apply it to");
    invocation.next_program();

    if (auto uid = given.number("uid")) plan.uid = static_cast<uid_t>(*uid);
    if (auto gid = given.number("gid")) plan.gid = static_cast<gid_t>(*gid);
    if (auto user = given.text("user")) plan.uid = find_account("--user", *user).uid;
    if (auto group = given.text("group")) plan.gid = find_group("--group", *group);
    return std::make_unique<Listen>(std::move(plan));
}

} // namespace toolkit
