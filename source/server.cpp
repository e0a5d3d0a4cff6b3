// The accept loop: take listeners, accept one, check the limits, start the child, reap.
#include "server.hpp"

#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "listen_fds.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <new>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace toolkit {

namespace {

// Variables that describe descriptors a child does not get: whoever started
// us set them, and no child may see them.
constexpr const char* dropped_variables[] = {"LISTEN_FDS",     "LISTEN_PID",  "LISTEN_FDNAMES",
                                             "LISTEN_PIDFDID", "UPSTART_FDS", "UPSTART_EVENTS"};

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

std::string domain_kind(int domain) {
    switch (domain) {
    case AF_UNIX:
        return "a local (AF_UNIX) socket";
    case AF_INET:
        return "an AF_INET socket";
    case AF_INET6:
        return "an AF_INET6 socket";
    default:
        return "a socket of family " + std::to_string(domain);
    }
}

std::string type_kind(int type) {
    switch (type) {
    case SOCK_STREAM:
        return "a stream (SOCK_STREAM) socket";
    case SOCK_DGRAM:
        return "a datagram (SOCK_DGRAM) socket";
    case SOCK_SEQPACKET:
        return "a SOCK_SEQPACKET socket";
    default:
        return "a socket of type " + std::to_string(type);
    }
}

// Each inherited descriptor must be a listening socket of the family; say what it is otherwise.
void check_listener(int fd, const Family& family) {
    std::string subject = descriptor_name(fd);
    struct stat st;
    if (::fstat(fd, &st) < 0) {
        if (errno == EBADF) throw Failure(exit_failure, subject, "not open (no listening socket)");
        throw system_error(subject, errno);
    }
    if (!S_ISSOCK(st.st_mode))
        throw Failure(exit_failure, subject,
                      "not a socket but " + std::string(file_kind(st.st_mode)));
    int domain = socket_option(fd, SO_DOMAIN);
    if (!family.takes_domain(domain))
        throw Failure(exit_failure, subject,
                      "not " + std::string(family.domain_name()) + " but " + domain_kind(domain));
    int type = socket_option(fd, SO_TYPE);
    if (type != family.socket_type())
        throw Failure(exit_failure, subject,
                      "not " + std::string(family.type_name()) + " but " + type_kind(type));
    if (!socket_option(fd, SO_ACCEPTCONN))
        throw Failure(exit_failure, subject,
                      std::string(family.type_name()) + " that is not listening");
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

class Server {
  public:
    Server(Chain& chain, const ServerSettings& settings, Family& family)
        : chain_(chain), settings_(settings), family_(family) {}
    [[noreturn]] void run();

  private:
    void take_listeners();
    void prepare_signals();
    void prepare_environment();
    void serve(std::size_t index);
    pid_t start_child(int connection);
    [[noreturn]] void run_chain_in_child(int connection);
    void reap();
    void back_off();

    Chain& chain_;
    const ServerSettings& settings_;
    Family& family_;
    std::vector<int> listeners_;
    UniqueFd children_ended_; // signalfd for SIGCHLD
    ChildSignals signals_;
    struct sigaction inherited_sigchld_ {};
    bool sigchld_changed_ = false;
    std::vector<char*> base_envp_; // every child's environment, before its own variables
    Connection connection_;        // the one being served, reused
    Spawner spawner_;

    // Our live children and their sources. A plain list: it holds at most
    // the connection limit, and a scan is cheap beside starting a child.
    struct Child {
        pid_t pid;
        SourceKey source;
    };
    std::vector<Child> children_;
};

void Server::take_listeners() {
    int count = inherited_listen_fds(chain_.environment, ::getpid());
    if (count == 0) count = 1;
    for (int i = 0; i < count; ++i) {
        int fd = first_listen_fd + i;
        check_listener(fd, family_);
        family_.add_listener(fd);
        listeners_.push_back(fd);
    }
    // Non-blocking, so that a connection that vanished between poll and
    // accept cannot stall the loop; no child inherits a listener.
    for (int fd : listeners_) {
        int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
            throw system_error(descriptor_name(fd), errno);
        set_close_on_exec(fd, true);
    }
}

// Children end as SIGCHLD on a signalfd; no handler is ever installed, and
// what we change for ourselves every child gets back (spawn.hpp).
void Server::prepare_signals() {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &chld, &signals_.mask) < 0)
        throw system_error("sigprocmask", errno);
    // An ignored SIGCHLD (or SA_NOCLDWAIT) would reap children behind our back
    // and the count would never go down.
    if (::sigaction(SIGCHLD, nullptr, &inherited_sigchld_) < 0)
        throw system_error("sigaction", errno);
    struct sigaction action {};
    if (inherited_sigchld_.sa_handler == SIG_IGN || (inherited_sigchld_.sa_flags & SA_NOCLDWAIT)) {
        action.sa_handler = SIG_DFL;
        if (::sigaction(SIGCHLD, &action, nullptr) < 0) throw system_error("sigaction", errno);
        signals_.sigchld_ignored = inherited_sigchld_.sa_handler == SIG_IGN;
        sigchld_changed_ = true;
    }
    // A log reader that went away (a logger restarted) must not end the
    // server: our writes to stderr then fail with EPIPE instead.
    struct sigaction pipe {};
    if (::sigaction(SIGPIPE, nullptr, &pipe) < 0) throw system_error("sigaction", errno);
    if (pipe.sa_handler != SIG_IGN) {
        action.sa_handler = SIG_IGN;
        if (::sigaction(SIGPIPE, &action, nullptr) < 0) throw system_error("sigaction", errno);
        signals_.sigpipe_default = true;
    }
    int fd = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || (fd = above_stdio(fd)) < 0) throw system_error("signalfd", errno);
    children_ended_.reset(fd);
}

void Server::prepare_environment() {
    PendingEnvironment& environment = chain_.environment;
    for (const char* name : dropped_variables)
        environment.unset(name);
    for (const char* name : family_.variables())
        environment.unset(name);
    environment.set("PROTO", family_.proto());
    // Built once: per connection only its own variables are added after these.
    char* const* entries = environment.envp();
    base_envp_.assign(entries, entries + environment.size());
}

void Server::run() {
    take_listeners();
    prepare_signals();
    prepare_environment();
    children_.reserve(static_cast<std::size_t>(std::min(settings_.limit, 1024)));

    std::vector<pollfd> watched;
    watched.push_back({children_ended_.get(), POLLIN, 0});
    for (int fd : listeners_)
        watched.push_back({fd, POLLIN, 0});
    // Every listener is taken and checked, and nothing that could still stop
    // the server is left: the supervisor is told now, before any child exists.
    chain_.signal_readiness();

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
            serve(i - 1);
        }
    }
}

void Server::back_off() {
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

void Server::serve(std::size_t index) {
    int listener = listeners_[index];
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return; // the client left before we got to it
        std::string what = "accept on " + descriptor_name(listener);
        if (!transient(err)) throw system_error(what, err);
        error(what, std::strerror(err));
        back_off();
        return;
    }
    fd = above_stdio(fd);
    if (fd < 0) {
        error("accept on " + descriptor_name(listener), std::strerror(errno));
        back_off();
        return;
    }
    UniqueFd connection(fd);

    connection_.variables.clear();
    connection_.log.clear();
    if (!family_.describe(index, fd, peer, peer_length, settings_.verbose, connection_)) return;
    if (settings_.per_source_limit) {
        auto used = std::count_if(children_.begin(), children_.end(), [this](const Child& child) {
            return child.source == connection_.source;
        });
        if (used >= settings_.per_source_limit) {
            if (!settings_.quiet)
                MessageLine("ERROR", family_.source_name(connection_), "at the limit of ")
                    .add(settings_.per_source_limit)
                    .add(" connections ")
                    .add(family_.per_source())
                    .add("; connection closed")
                    .write();
            return;
        }
    }

    pid_t pid = start_child(fd);
    if (pid < 0) {
        error("starting a child", std::strerror(errno));
        connection.reset();
        back_off();
        return;
    }
    children_.push_back(Child{pid, connection_.source});
    if (settings_.verbose) {
        MessageLine()
            .add(pid)
            .add(" started ")
            .add(children_.size())
            .add("/")
            .add(settings_.limit)
            .write();
        MessageLine().add(pid).add(" ").add(connection_.log).write();
    }
}

pid_t Server::start_child(int connection) {
    if (chain_.at_last_link())
        return spawner_.start(ExecRequest{chain_.program_path().c_str(), chain_.program_argv(),
                                          base_envp_, &connection_.variables, connection,
                                          &signals_});
    // The next program is an applet: a real fork, and the chain goes on in the child.
    chain_.refresh_rest();
    pid_t pid = ::fork();
    if (pid == 0) run_chain_in_child(connection);
    return pid;
}

void Server::run_chain_in_child(int connection) {
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
        chain_.forget_failure_actions();
        for (int fd : listeners_)
            ::close(fd);
        ::close(children_ended_.release());
        if (::dup2(connection, STDIN_FILENO) < 0 || ::dup2(connection, STDOUT_FILENO) < 0)
            child_fatal("descriptors 0 and 1", errno, exit_failure);
        ::close(connection);
        if (sigchld_changed_) ::sigaction(SIGCHLD, &inherited_sigchld_, nullptr);
        restore_signals(signals_);
        for (std::size_t i = 0; i < connection_.variables.count(); ++i) {
            std::string_view entry = connection_.variables.entry(i);
            std::size_t equals = entry.find('=');
            chain_.environment.set(entry.substr(0, equals), entry.substr(equals + 1));
        }
    } catch (const std::bad_alloc&) {
        child_fatal("the connection's environment", ENOMEM, exit_failure);
    } catch (...) {
        child_fatal("the connection's environment", EINVAL, exit_failure);
    }
    chain_.run_rest_in_child();
}

void Server::reap() {
    // SIGCHLD does not queue: one read empties the descriptor, waitpid finds every child.
    signalfd_siginfo pending[4];
    (void)!::read(children_ended_.get(), pending, sizeof pending);
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        auto child = std::find_if(children_.begin(), children_.end(),
                                  [pid](const Child& c) { return c.pid == pid; });
        if (child == children_.end()) continue; // not ours: a child of the program we replaced
        *child = children_.back();
        children_.pop_back();
        if (settings_.verbose) {
            int kind = WIFEXITED(status) ? 1 : WCOREDUMP(status) ? 3 : 2;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
            MessageLine()
                .add(pid)
                .add(" ended status ")
                .add(kind)
                .add(" code ")
                .add(code)
                .add(" ")
                .add(children_.size())
                .add("/")
                .add(settings_.limit)
                .write();
        }
    }
}

} // namespace

ServerSettings read_server_settings(const ParsedOptions& given,
                                    std::string_view per_source_option) {
    ServerSettings settings;
    if (auto limit = given.number("connection-limit")) settings.limit = static_cast<int>(*limit);
    if (auto limit = given.number(per_source_option))
        settings.per_source_limit = static_cast<int>(*limit);
    settings.verbose = given.has("verbose");
    settings.quiet = given.has("quiet");
    return settings;
}

void serve(Chain& chain, const ServerSettings& settings, Family& family) {
    Server(chain, settings, family).run();
}

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

} // namespace toolkit
