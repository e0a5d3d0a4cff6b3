// local-stream-socket-accept: the UCSPI server loop, one child per connection.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"
#include "fd.hpp"
#include "listen_fds.hpp"
#include "socket.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <new>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"connection-limit", 'c', OptionKind::number, "N",
     "serve at most N connections at once (default 40)", 1, INT_MAX},
    {"connection-limit-per-uid", 'C', OptionKind::number, "N",
     "serve at most N connections at once per client euid; close the others", 1, INT_MAX},
    {"localname", 'l', OptionKind::text, "PATH",
     "set UNIXLOCALPATH to PATH instead of the socket's name"},
    {"verbose", 'v', OptionKind::flag, "", "log each connection and each child's end on stderr"},
};

struct Settings {
    int limit = 40;
    int per_uid_limit = 0; // 0: no limit per uid
    std::optional<std::string> localname;
    bool verbose = false;
};

// What the next program must not inherit from us, or from whoever started us.
constexpr const char* dropped_variables[] = {"LISTEN_FDS",   "LISTEN_PID",   "LISTEN_FDNAMES",
                                             "UNIXLOCALUID", "UNIXLOCALGID", "UNIXLOCALPID"};
// Set per connection; an old value must never leak through when ours is unset.
constexpr const char* connection_variables[] = {"UNIXLOCALPATH",  "UNIXREMOTEPATH",
                                                "UNIXREMOTEPID",  "UNIXREMOTEEUID",
                                                "UNIXREMOTEEGID", "UNIXREMOTEGIDLIST"};

// Transient accept failures: they say nothing about the listening socket.
bool transient(int err) {
    switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EPROTO:
    case EPERM:
    case ECONNABORTED:
    case EINTR:
        return true;
    default:
        return false;
    }
}

int socket_option(int fd, int option) {
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) < 0)
        throw system_error(descriptor_name(fd), errno);
    return value;
}

// Each inherited descriptor must be a listening AF_UNIX stream socket; say what it is otherwise.
void check_listener(int fd) {
    std::string subject = descriptor_name(fd);
    struct stat st;
    if (::fstat(fd, &st) < 0) {
        if (errno == EBADF) throw Failure(exit_failure, subject, "not open (no listening socket)");
        throw system_error(subject, errno);
    }
    if (!S_ISSOCK(st.st_mode))
        throw Failure(exit_failure, subject, "not a socket but " + std::string(file_kind(st.st_mode)));
    int domain = socket_option(fd, SO_DOMAIN);
    if (domain != AF_UNIX) {
        std::string kind = domain == AF_INET    ? "an AF_INET socket"
                           : domain == AF_INET6 ? "an AF_INET6 socket"
                                                : "a socket of family " + std::to_string(domain);
        throw Failure(exit_failure, subject, "not a local (AF_UNIX) socket but " + kind);
    }
    int type = socket_option(fd, SO_TYPE);
    if (type != SOCK_STREAM) {
        std::string kind = type == SOCK_DGRAM       ? "a datagram (SOCK_DGRAM) socket"
                           : type == SOCK_SEQPACKET ? "a SOCK_SEQPACKET socket"
                                                    : "a socket of type " + std::to_string(type);
        throw Failure(exit_failure, subject, "not a stream socket but " + kind);
    }
    if (!socket_option(fd, SO_ACCEPTCONN))
        throw Failure(exit_failure, subject, "a stream socket that is not listening");
}

// Our own descriptors stay clear of 0, 1 and 2: those belong to the children.
int above_stdio(int fd) {
    if (fd > STDERR_FILENO) return fd;
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int err = errno;
    ::close(fd);
    errno = err;
    return moved;
}

void log_line(std::string_view text) {
    std::string line;
    line.reserve(program_name().size() + text.size() + 3);
    line.append(program_name()).append(": ").append(text).push_back('\n');
    write_all(STDERR_FILENO, line);
}

// A name as one log field: the client chooses its own name, and a newline
// in it must not forge a line, nor a space shift the fields. Every byte
// outside '!'..'~', and the backslash, is escaped: \n, \t, \r, \\, else \xHH.
// An empty name is "-"; a name that is "-" itself is written \x2d.
std::string log_field(std::string_view name) {
    if (name.empty()) return "-";
    if (name == "-") return "\\x2d";
    static constexpr char hex[] = "0123456789abcdef";
    std::string field;
    field.reserve(name.size());
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        if (byte == '\\')
            field.append("\\\\");
        else if (byte >= 0x21 && byte <= 0x7e)
            field.push_back(c);
        else if (byte == '\n')
            field.append("\\n");
        else if (byte == '\t')
            field.append("\\t");
        else if (byte == '\r')
            field.append("\\r");
        else
            field.append("\\x").append(1, hex[byte >> 4]).append(1, hex[byte & 0xf]);
    }
    return field;
}

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

struct Listener {
    int fd;
    std::string local_name; // UNIXLOCALPATH
};

// The per-connection variables as NAME=value strings, laid end to end in one buffer.
class ConnectionVariables {
  public:
    void clear() {
        text_.clear();
        ends_.clear();
    }
    void add(std::string_view name, std::string_view value) {
        text_.append(name).append("=").append(value).push_back('\0');
        ends_.push_back(text_.size());
    }
    std::size_t count() const { return ends_.size(); }
    // Valid until the next change.
    char* entry(std::size_t i) { return text_.data() + (i == 0 ? 0 : ends_[i - 1]); }

  private:
    std::string text_;
    std::vector<std::size_t> ends_;
};

// What the child of a final program needs. A clone()d child shares our
// memory until its execve: it must not allocate or change anything of ours.
struct ExecPlan {
    const char* path;
    char* const* argv;
    char* const* envp;
    int connection;
    const sigset_t* mask;
    const struct sigaction* sigchld; // null: leave SIGCHLD alone
};

// strerror may allocate (translations); the static descriptions never do.
const char* error_text(int err) {
    const char* text = ::strerrordesc_np(err);
    return text ? text : "unknown error";
}

void append(char*& at, const char* end, std::string_view text) {
    std::size_t n = std::min(text.size(), static_cast<std::size_t>(end - at));
    if (n == 0) return; // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(at, text.data(), n);
    at += n;
}

// The two functions below run on child_stack, which AddressSanitizer does not
// know for a stack: instrumented, a sanitizer build warns of false positives at
// the _exit. They are left out of the instrumentation.
#define TOOLKIT_ON_FOREIGN_STACK __attribute__((no_sanitize("address")))

// "APPLET: FATAL: SUBJECT: DETAILHINT" without allocating, then _exit.
[[noreturn]] TOOLKIT_ON_FOREIGN_STACK void child_fatal_text(std::string_view subject,
                                                           std::string_view detail,
                                                           std::string_view hint, int status) {
    char line[4096 + 256];
    char* at = line;
    const char* end = line + sizeof line - 1;
    append(at, end, program_name());
    append(at, end, ": FATAL: ");
    append(at, end, subject);
    append(at, end, ": ");
    append(at, end, detail);
    append(at, end, hint);
    *at++ = '\n';
    write_all(STDERR_FILENO, std::string_view(line, static_cast<std::size_t>(at - line)));
    ::_exit(status);
}

// The same with the description of ERR for DETAIL.
[[noreturn]] TOOLKIT_ON_FOREIGN_STACK void child_fatal(std::string_view subject, int err, int status,
                                                      std::string_view hint = {}) {
    child_fatal_text(subject, error_text(err), hint, status);
}

TOOLKIT_ON_FOREIGN_STACK int exec_child(void* argument) {
    const ExecPlan& plan = *static_cast<const ExecPlan*>(argument);
    // accept4 set close-on-exec on the connection; dup2 gives 0 and 1 without it.
    if (::dup2(plan.connection, STDIN_FILENO) < 0 || ::dup2(plan.connection, STDOUT_FILENO) < 0)
        child_fatal("descriptors 0 and 1", errno, exit_failure);
    if (plan.sigchld) ::sigaction(SIGCHLD, plan.sigchld, nullptr);
    ::sigprocmask(SIG_SETMASK, plan.mask, nullptr);
    ::execve(plan.path, plan.argv, plan.envp);
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
        // As exec_program: a file that exists whose #! interpreter does not is 126.
        struct stat st;
        if (::stat(plan.path, &st) == 0)
            child_fatal(plan.path, err, exit_cannot_run, interpreter_missing_hint);
        child_fatal(plan.path, err, exit_not_found);
    }
    child_fatal(plan.path, err, exit_cannot_run);
}

// The clone()d child runs here while we wait for its execve; it is used by one child at a time.
alignas(64) char child_stack[64 * 1024];

class AcceptLoop : public Step {
  public:
    explicit AcceptLoop(Settings settings) : settings_(std::move(settings)) {}
    [[noreturn]] void run(Chain& chain) override;

  private:
    void take_listeners(Chain& chain);
    void prepare_signals();
    void prepare_environment(Chain& chain);
    void serve(const Listener& listener);
    pid_t start_child(int connection);
    void reap();
    void back_off();
    bool clients_waiting();

    Settings settings_;
    Chain* chain_ = nullptr;
    std::vector<Listener> listeners_;
    std::vector<pollfd> listener_polls_; // for a look at the queues without waiting
    UniqueFd children_ended_;            // signalfd for SIGCHLD
    sigset_t inherited_mask_;
    struct sigaction inherited_sigchld_ {};
    bool restore_sigchld_ = false;

    std::vector<char*> envp_; // the base environment, then this connection's variables
    std::size_t base_size_ = 0;
    ConnectionVariables variables_;

    std::unordered_map<pid_t, uid_t> children_;
    std::unordered_map<uid_t, int> per_uid_;
};

void AcceptLoop::take_listeners(Chain& chain) {
    int count = inherited_listen_fds(chain.environment, ::getpid());
    if (count == 0) count = 1;
    for (int i = 0; i < count; ++i) {
        int fd = first_listen_fd + i;
        check_listener(fd);
        Listener listener{fd, {}};
        if (settings_.localname) {
            listener.local_name = *settings_.localname;
        } else {
            sockaddr_un address{};
            socklen_t length = sizeof address;
            if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0)
                throw system_error(descriptor_name(fd), errno);
            listener.local_name = describe_local_address(address, length);
        }
        listeners_.push_back(std::move(listener));
    }
    // Non-blocking, so that a connection that vanished between poll and
    // accept cannot stall the loop; no child inherits a listener.
    for (const Listener& listener : listeners_) {
        int flags = ::fcntl(listener.fd, F_GETFL);
        if (flags < 0 || ::fcntl(listener.fd, F_SETFL, flags | O_NONBLOCK) < 0)
            throw system_error(descriptor_name(listener.fd), errno);
        set_close_on_exec(listener.fd, true);
    }
}

// Children end as SIGCHLD on a signalfd; no handler is ever installed, so
// every child starts with the dispositions we inherited.
void AcceptLoop::prepare_signals() {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &chld, &inherited_mask_) < 0)
        throw system_error("sigprocmask", errno);
    // An ignored SIGCHLD (or SA_NOCLDWAIT) would reap children behind our back
    // and the count would never go down; children get the old setting back.
    if (::sigaction(SIGCHLD, nullptr, &inherited_sigchld_) < 0)
        throw system_error("sigaction", errno);
    if (inherited_sigchld_.sa_handler == SIG_IGN || (inherited_sigchld_.sa_flags & SA_NOCLDWAIT)) {
        struct sigaction plain {};
        plain.sa_handler = SIG_DFL;
        if (::sigaction(SIGCHLD, &plain, nullptr) < 0) throw system_error("sigaction", errno);
        restore_sigchld_ = true;
    }
    int fd = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || (fd = above_stdio(fd)) < 0) throw system_error("signalfd", errno);
    children_ended_.reset(fd);
}

void AcceptLoop::prepare_environment(Chain& chain) {
    PendingEnvironment& environment = chain.environment;
    for (const char* name : dropped_variables)
        environment.unset(name);
    for (const char* name : connection_variables)
        environment.unset(name);
    environment.set("PROTO", "UNIX");
    // Built once: per connection only its own variables are added after these.
    char* const* entries = environment.envp();
    envp_.assign(entries, entries + environment.size());
    base_size_ = envp_.size();
    envp_.reserve(base_size_ + std::size(connection_variables) + 1);
}

void AcceptLoop::run(Chain& chain) {
    chain_ = &chain;
    take_listeners(chain);
    prepare_signals();
    prepare_environment(chain);
    children_.reserve(static_cast<std::size_t>(std::min(settings_.limit, 1024)));

    std::vector<pollfd> watched;
    watched.push_back({children_ended_.get(), POLLIN, 0});
    for (const Listener& listener : listeners_)
        watched.push_back({listener.fd, POLLIN, 0});
    listener_polls_.assign(watched.begin() + 1, watched.end());

    for (;;) {
        bool accepting = children_.size() < static_cast<std::size_t>(settings_.limit);
        nfds_t count = accepting ? watched.size() : 1; // at the limit, clients wait in the backlog
        if (::poll(watched.data(), count, -1) < 0) {
            if (errno == EINTR) continue;
            // Short of memory for a moment is no reason to stop serving; any
            // other poll error is a bug that retrying would only repeat.
            if (errno != ENOMEM) throw system_error("poll", errno);
            error("poll", std::strerror(errno));
            back_off();
            continue;
        }
        if (watched[0].revents) reap();
        if (!accepting) continue;
        for (std::size_t i = 1; i < watched.size(); ++i) {
            if (!watched[i].revents) continue;
            if (children_.size() >= static_cast<std::size_t>(settings_.limit)) break;
            serve(listeners_[i - 1]);
        }
    }
}

void AcceptLoop::back_off() {
    // A tenth of a second without accepting, reaping as children end: the
    // pending connection keeps the listener readable, so no busy loop.
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long long deadline = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + 100;
    for (;;) {
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = deadline - (now.tv_sec * 1000LL + now.tv_nsec / 1000000);
        if (left <= 0) return;
        pollfd watched{children_ended_.get(), POLLIN, 0};
        int ready = ::poll(&watched, 1, static_cast<int>(left));
        if (ready > 0) reap();
        if (ready < 0 && errno != EINTR) { // no spinning while poll keeps failing
            timespec pause{left / 1000, (left % 1000) * 1000000};
            ::nanosleep(&pause, nullptr);
            return;
        }
    }
}

void AcceptLoop::serve(const Listener& listener) {
    sockaddr_un peer{};
    socklen_t peer_length = sizeof peer;
    int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return; // the client left before we got to it
        if (!transient(err)) throw system_error("accept on " + descriptor_name(listener.fd), err);
        error("accept on " + descriptor_name(listener.fd), std::strerror(err));
        back_off();
        return;
    }
    fd = above_stdio(fd);
    if (fd < 0) {
        error("accept on " + descriptor_name(listener.fd), std::strerror(errno));
        back_off();
        return;
    }
    UniqueFd connection(fd);

    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) {
        error("peer credentials", std::strerror(errno));
        return;
    }
    if (settings_.per_uid_limit) {
        auto used = per_uid_.find(credentials.uid);
        if (used != per_uid_.end() && used->second >= settings_.per_uid_limit) {
            error("uid " + std::to_string(credentials.uid),
                  "at the limit of " + std::to_string(settings_.per_uid_limit) +
                      " connections per uid; connection closed");
            return;
        }
    }

    std::string remote = describe_local_address(peer, peer_length);
    variables_.clear();
    variables_.add("UNIXLOCALPATH", listener.local_name);
    if (!remote.empty()) variables_.add("UNIXREMOTEPATH", remote);
    variables_.add("UNIXREMOTEPID", std::to_string(credentials.pid));
    variables_.add("UNIXREMOTEEUID", std::to_string(credentials.uid));
    variables_.add("UNIXREMOTEEGID", std::to_string(credentials.gid));
    if (auto groups = peer_groups(fd)) variables_.add("UNIXREMOTEGIDLIST", *groups);

    pid_t pid = start_child(fd);
    if (pid < 0) {
        error("starting a child", std::strerror(errno));
        connection.reset();
        back_off();
        return;
    }
    children_.emplace(pid, credentials.uid);
    if (settings_.per_uid_limit) ++per_uid_[credentials.uid];
    if (settings_.verbose) {
        std::string id = std::to_string(pid);
        log_line(id + " started " + std::to_string(children_.size()) + "/" +
                 std::to_string(settings_.limit));
        log_line(id + " " + log_field(listener.local_name) + " " + log_field(remote) + " " +
                 std::to_string(credentials.pid) + " " +
                 std::to_string(credentials.uid) + " " + std::to_string(credentials.gid));
    }
}

pid_t AcceptLoop::start_child(int connection) {
    const sigset_t* mask = &inherited_mask_;
    const struct sigaction* sigchld = restore_sigchld_ ? &inherited_sigchld_ : nullptr;
    if (chain_->at_last_link()) {
        envp_.resize(base_size_);
        for (std::size_t i = 0; i < variables_.count(); ++i)
            envp_.push_back(variables_.entry(i));
        envp_.push_back(nullptr);
        ExecPlan plan{chain_->program_path().c_str(),
                      chain_->program_argv(),
                      envp_.data(),
                      connection,
                      mask,
                      sigchld};
        // The next program is exec'd. When we are not busy, start it without
        // copying our address space, suspended until its execve: the
        // cheapest way. When more clients wait or other children run, the
        // new child may wait for a CPU and we would wait with it; a copy
        // lets us go back to accepting at once.
        if (children_.size() >= 2 || clients_waiting()) {
            pid_t pid = ::fork();
            if (pid == 0) exec_child(&plan);
            return pid;
        }
        return ::clone(exec_child, child_stack + sizeof child_stack,
                       CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
    }
    // The next program is an applet: a real fork, and the chain goes on in the child.
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    // In the child, nothing may unwind out of here: an exception (bad_alloc
    // from the environment, say) would reach main() of what is a copy of the
    // server, which would run the server's failure actions (remove the
    // socket node it listens on) and print as the server. So the server's
    // undo actions are dropped first, and whatever is thrown before
    // run_rest_in_child (which catches for itself) ends this child, 111.
    //
    // No test makes this happen: it needs an allocation failing in this child
    // only, between fork and run_rest_in_child. A memory limit hits the
    // server as much as the child, no system call of ours is there for
    // strace to break, and an interposed malloc (LD_PRELOAD) would have to
    // tell the child from its parent and does not reach the static build.
    try {
        chain_->forget_failure_actions();
        for (const Listener& listener : listeners_)
            ::close(listener.fd);
        ::close(children_ended_.release());
        if (::dup2(connection, STDIN_FILENO) < 0 || ::dup2(connection, STDOUT_FILENO) < 0)
            child_fatal("descriptors 0 and 1", errno, exit_failure);
        ::close(connection);
        if (sigchld) ::sigaction(SIGCHLD, sigchld, nullptr);
        ::sigprocmask(SIG_SETMASK, mask, nullptr);
        for (const char* name : connection_variables)
            chain_->environment.unset(name);
        for (std::size_t i = 0; i < variables_.count(); ++i) {
            std::string_view entry = variables_.entry(i);
            std::size_t equals = entry.find('=');
            chain_->environment.set(entry.substr(0, equals), entry.substr(equals + 1));
        }
    } catch (const std::bad_alloc&) {
        child_fatal("the connection's environment", ENOMEM, exit_failure);
    } catch (...) {
        child_fatal_text("the connection's environment", "unexpected internal error", {},
                         exit_failure);
    }
    chain_->run_rest_in_child();
}

bool AcceptLoop::clients_waiting() {
    return ::poll(listener_polls_.data(), listener_polls_.size(), 0) > 0;
}

void AcceptLoop::reap() {
    // SIGCHLD does not queue: one read empties the descriptor, waitpid finds every child.
    signalfd_siginfo pending[4];
    (void)!::read(children_ended_.get(), pending, sizeof pending);
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        auto child = children_.find(pid);
        if (child == children_.end()) continue; // not ours: a child of the program we replaced
        if (settings_.per_uid_limit) {
            auto used = per_uid_.find(child->second);
            if (used != per_uid_.end() && --used->second <= 0) per_uid_.erase(used);
        }
        children_.erase(child);
        if (settings_.verbose) {
            int kind = WIFEXITED(status) ? 1 : WCOREDUMP(status) ? 3 : 2;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
            log_line(std::to_string(pid) + " ended status " + std::to_string(kind) + " code " +
                     std::to_string(code) + " " + std::to_string(children_.size()) + "/" +
                     std::to_string(settings_.limit));
        }
    }
}

std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    Settings settings;
    if (auto limit = given.number("connection-limit")) settings.limit = static_cast<int>(*limit);
    if (auto limit = given.number("connection-limit-per-uid"))
        settings.per_uid_limit = static_cast<int>(*limit);
    if (auto name = given.text("localname")) settings.localname = std::string(*name);
    settings.verbose = given.has("verbose");
    invocation.next_program();
    return std::make_unique<AcceptLoop>(std::move(settings));
}

} // namespace

extern const AppletInfo local_stream_socket_accept{
    {"local-stream-socket-accept", "NEXT-PROG [ARGS...]",
     "Accept connections on the listening local sockets from descriptor 3 on (or LISTEN_FDS), "
     "running NEXT-PROG for each with the connection on descriptors 0 and 1.",
     options},
    plan,
};

} // namespace toolkit::applets
