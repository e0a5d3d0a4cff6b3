// local-stream-socket-accept: the UCSPI server loop, one child per connection.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"
#include "fd.hpp"
#include "listen_fds.hpp"
#include "socket.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/futex.h>
#include <memory>
#include <new>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/signalfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
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

// What the child of a final program needs. It may share our memory until its
// execve (see ChildSlots): it must not allocate or change anything of ours.
struct ExecPlan {
    const char* path;
    char* const* argv;
    char* const* envp;
    int connection;
    const sigset_t* mask;
    bool ignore_sigchld; // SIGCHLD was ignored when we started: the next program gets that back
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

// The functions below run on a child's stack of our making, which
// AddressSanitizer does not know for a stack: instrumented, a sanitizer build
// warns of false positives at the exit. They are left out of the instrumentation.
#define TOOLKIT_ON_FOREIGN_STACK __attribute__((no_sanitize("address")))

// The system calls a child makes before its execve. On x86-64 we
// make them ourselves, because there the child shares our memory while we go
// on serving, errno included: these never touch errno and return -errno.
// Elsewhere a child is always a fork, and they go through the C library.
namespace child {

#if defined(__x86_64__)
constexpr bool shares_memory = true;

TOOLKIT_ON_FOREIGN_STACK inline long system_call(long number, long a, long b = 0, long c = 0,
                                                 long d = 0) {
    long result;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return result;
}

TOOLKIT_ON_FOREIGN_STACK long duplicate(int from, int to) {
    return system_call(SYS_dup2, from, to);
}
TOOLKIT_ON_FOREIGN_STACK long set_mask(const sigset_t* mask) {
    return system_call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(mask), 0, _NSIG / 8);
}
TOOLKIT_ON_FOREIGN_STACK long ignore_sigchld() {
    struct {
        unsigned long handler, flags, restorer, mask; // the kernel's struct sigaction here
    } ignore{reinterpret_cast<unsigned long>(SIG_IGN), 0, 0, 0};
    return system_call(SYS_rt_sigaction, SIGCHLD, reinterpret_cast<long>(&ignore), 0, _NSIG / 8);
}
// Not inlined: tests/bench/instructions.py counts a child's instructions up to here.
[[gnu::noinline]] TOOLKIT_ON_FOREIGN_STACK long execute(const ExecPlan& plan) {
    return system_call(SYS_execve, reinterpret_cast<long>(plan.path),
                       reinterpret_cast<long>(plan.argv), reinterpret_cast<long>(plan.envp));
}
TOOLKIT_ON_FOREIGN_STACK bool exists(const char* path) {
    return system_call(SYS_faccessat, AT_FDCWD, reinterpret_cast<long>(path), F_OK) == 0;
}
TOOLKIT_ON_FOREIGN_STACK long write(int fd, const char* data, std::size_t size) {
    return system_call(SYS_write, fd, reinterpret_cast<long>(data), static_cast<long>(size));
}
[[noreturn]] TOOLKIT_ON_FOREIGN_STACK void exit(int status) {
    system_call(SYS_exit_group, status);
    __builtin_unreachable();
}

// Valgrind stops the whole program at a child that shares its parent's memory
// without being a thread, so under Valgrind every child is a fork. This is
// Valgrind's documented "running on Valgrind" request (0x1001): a rotation of
// a register by 128 bits in all, which does nothing on a real processor.
bool under_valgrind() {
    unsigned long request[6] = {0x1001, 0, 0, 0, 0, 0};
    unsigned long answer = 0;
    __asm__ volatile("rolq $3, %%rdi; rolq $13, %%rdi; rolq $61, %%rdi; rolq $51, %%rdi\n\t"
                     "xchgq %%rbx, %%rbx"
                     : "=d"(answer)
                     : "a"(&request[0]), "0"(answer)
                     : "cc", "memory");
    return answer != 0;
}

#else
constexpr bool shares_memory = false;

long result(long value) { return value < 0 ? -errno : value; }
long duplicate(int from, int to) { return result(::dup2(from, to)); }
long set_mask(const sigset_t* mask) { return result(::sigprocmask(SIG_SETMASK, mask, nullptr)); }
long ignore_sigchld() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    return result(::sigaction(SIGCHLD, &ignore, nullptr));
}
[[gnu::noinline]] long execute(const ExecPlan& plan) {
    return result(::execve(plan.path, plan.argv, plan.envp));
}
bool exists(const char* path) { return ::access(path, F_OK) == 0; }
long write(int fd, const char* data, std::size_t size) { return result(::write(fd, data, size)); }
[[noreturn]] void exit(int status) { ::_exit(status); }
bool under_valgrind() { return false; }
#endif

} // namespace child

// "APPLET: FATAL: SUBJECT: DETAILHINT" without allocating, then exit.
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
    for (const char* from = line; from < at;) {
        long n = child::write(STDERR_FILENO, from, static_cast<std::size_t>(at - from));
        if (n == -EINTR) continue;
        if (n <= 0) break;
        from += n;
    }
    child::exit(status);
}

// The same with the description of ERR for DETAIL.
[[noreturn]] TOOLKIT_ON_FOREIGN_STACK void child_fatal(std::string_view subject, int err, int status,
                                                      std::string_view hint = {}) {
    child_fatal_text(subject, error_text(err), hint, status);
}

TOOLKIT_ON_FOREIGN_STACK int exec_child(void* argument) {
    const ExecPlan& plan = *static_cast<const ExecPlan*>(argument);
    // accept4 set close-on-exec on the connection; dup2 gives 0 and 1 without it.
    for (int target : {STDIN_FILENO, STDOUT_FILENO}) {
        long done;
        while ((done = child::duplicate(plan.connection, target)) == -EINTR) {
        }
        if (done < 0) child_fatal("descriptors 0 and 1", static_cast<int>(-done), exit_failure);
    }
    if (plan.ignore_sigchld) child::ignore_sigchld();
    child::set_mask(plan.mask);
    int err = static_cast<int>(-child::execute(plan));
    if (err == ENOENT || err == ENOTDIR) {
        // As exec_program: a file that exists whose #! interpreter does not is 126.
        if (child::exists(plan.path))
            child_fatal(plan.path, err, exit_cannot_run, interpreter_missing_hint);
        child_fatal(plan.path, err, exit_not_found);
    }
    child_fatal(plan.path, err, exit_cannot_run);
}

// Memory of our own for children that share our memory until their execve:
// each reads its plan and environment from its slot and runs on the slot's
// stack. The kernel zeroes `busy` once that child has exec'd or ended
// (CLONE_CHILD_CLEARTID); only then is the slot ours again. Such a child
// costs no copy of the server, and the server goes back to accepting at once.
struct ChildSlot {
    pid_t busy = 0;
    ExecPlan plan{};
    ConnectionVariables variables;
    std::vector<char*> envp;
    char* stack_top = nullptr;
};

class ChildSlots {
  public:
    // Null when the stacks cannot be had: every child is then a fork.
    static std::unique_ptr<ChildSlots> make() {
        // Each stack has an inaccessible page below it, so that an overflow
        // faults instead of writing over the next child's stack. Pages are
        // only touched (and counted) when a child runs there.
        std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        std::size_t stack = (stack_size + page - 1) / page * page;
        std::size_t length = count * (page + stack);
        void* area = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (area == MAP_FAILED) return nullptr;
        std::unique_ptr<ChildSlots> slots(new ChildSlots(static_cast<char*>(area), length));
        for (std::size_t i = 0; i < count; ++i) {
            char* guard = slots->area_ + i * (page + stack);
            if (::mprotect(guard, page, PROT_NONE) < 0) return nullptr;
            slots->slots_[i].stack_top = guard + page + stack;
        }
        return slots;
    }
    ~ChildSlots() {
        drain();
        ::munmap(area_, length_);
    }
    ChildSlots(const ChildSlots&) = delete;
    ChildSlots& operator=(const ChildSlots&) = delete;

    ChildSlot* free_slot() {
        for (ChildSlot& slot : slots_)
            if (__atomic_load_n(&slot.busy, __ATOMIC_ACQUIRE) == 0) return &slot;
        return nullptr;
    }
    // Before what the slots point into can go away: wait (at most a second)
    // until no child is still reading a slot.
    void drain() {
        for (ChildSlot& slot : slots_)
            for (int tries = 0; tries < 100 && __atomic_load_n(&slot.busy, __ATOMIC_ACQUIRE) != 0;
                 ++tries) {
                timespec pause{0, 10'000'000L};
                ::syscall(SYS_futex, &slot.busy, FUTEX_WAIT, 1, &pause, nullptr, 0);
            }
    }

    class DrainOnExit {
      public:
        explicit DrainOnExit(ChildSlots* slots) : slots_(slots) {}
        ~DrainOnExit() {
            if (slots_) slots_->drain();
        }
        DrainOnExit(const DrainOnExit&) = delete;
        DrainOnExit& operator=(const DrainOnExit&) = delete;

      private:
        ChildSlots* slots_;
    };

  private:
    static constexpr std::size_t count = 8;
    static constexpr std::size_t stack_size = 16384; // a child needs about 5 KiB

    ChildSlots(char* area, std::size_t length) : area_(area), length_(length) {}

    char* area_;
    std::size_t length_;
    std::array<ChildSlot, count> slots_;
};

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
    ExecPlan exec_plan(std::vector<char*>& envp, ConnectionVariables& variables,
                       int connection) const;
    void reap();
    void back_off();

    Settings settings_;
    Chain* chain_ = nullptr;
    std::vector<Listener> listeners_;
    UniqueFd children_ended_;            // signalfd for SIGCHLD
    sigset_t inherited_mask_;
    struct sigaction inherited_sigchld_ {};
    bool restore_sigchld_ = false;

    std::vector<char*> base_envp_; // the environment every child gets, before its own variables
    std::vector<char*> fork_envp_; // a forked child's whole environment
    ConnectionVariables variables_;
    std::unique_ptr<ChildSlots> slots_; // none: every child is a fork
    bool slots_refused_ = false;        // the system refused a child sharing our memory

    // Our live children and their clients' uids. A plain list: it holds at
    // most the connection limit, and a scan is cheap beside starting a child.
    struct Child {
        pid_t pid;
        uid_t uid;
    };
    std::vector<Child> children_;
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
    base_envp_.assign(entries, entries + environment.size());
    fork_envp_.reserve(base_envp_.size() + std::size(connection_variables) + 1);
}

void AcceptLoop::run(Chain& chain) {
    chain_ = &chain;
    take_listeners(chain);
    prepare_signals();
    prepare_environment(chain);
    if (child::shares_memory && !child::under_valgrind()) slots_ = ChildSlots::make();
    children_.reserve(static_cast<std::size_t>(std::min(settings_.limit, 1024)));

    std::vector<pollfd> watched;
    watched.push_back({children_ended_.get(), POLLIN, 0});
    for (const Listener& listener : listeners_)
        watched.push_back({listener.fd, POLLIN, 0});
    // However we leave, no child may still be reading what we are about to free.
    ChildSlots::DrainOnExit drain(slots_.get());

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
        auto used = std::count_if(children_.begin(), children_.end(),
                                  [&](const Child& child) { return child.uid == credentials.uid; });
        if (used >= settings_.per_uid_limit) {
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
    children_.push_back(Child{pid, credentials.uid});
    if (settings_.verbose) {
        std::string id = std::to_string(pid);
        log_line(id + " started " + std::to_string(children_.size()) + "/" +
                 std::to_string(settings_.limit));
        log_line(id + " " + log_field(listener.local_name) + " " + log_field(remote) + " " +
                 std::to_string(credentials.pid) + " " +
                 std::to_string(credentials.uid) + " " + std::to_string(credentials.gid));
    }
}

// ENVP becomes the base environment and VARIABLES, which must outlive the plan.
ExecPlan AcceptLoop::exec_plan(std::vector<char*>& envp, ConnectionVariables& variables,
                               int connection) const {
    envp.assign(base_envp_.begin(), base_envp_.end());
    for (std::size_t i = 0; i < variables.count(); ++i)
        envp.push_back(variables.entry(i));
    envp.push_back(nullptr);
    bool ignore_sigchld = restore_sigchld_ && inherited_sigchld_.sa_handler == SIG_IGN;
    return ExecPlan{chain_->program_path().c_str(), chain_->program_argv(), envp.data(),
                    connection, &inherited_mask_, ignore_sigchld};
}

pid_t AcceptLoop::start_child(int connection) {
    if (chain_->at_last_link()) {
        if (ChildSlot* slot = slots_ && !slots_refused_ ? slots_->free_slot() : nullptr) {
            slot->variables = variables_;
            slot->plan = exec_plan(slot->envp, slot->variables, connection);
            slot->busy = 1;
            pid_t pid = ::clone(exec_child, slot->stack_top,
                                CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD, &slot->plan, nullptr,
                                nullptr, &slot->busy);
            if (pid >= 0) return pid;
            slot->busy = 0;
            if (errno == EAGAIN || errno == ENOMEM) return pid; // short of processes or memory
            // Refused outright (a seccomp filter, say): from now on every child is a fork.
            slots_refused_ = true;
        }
        // Every slot in use, or no slots here: the child is a copy of us.
        ExecPlan plan = exec_plan(fork_envp_, variables_, connection);
        pid_t pid = ::fork();
        if (pid == 0) exec_child(&plan);
        return pid;
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
        if (restore_sigchld_) ::sigaction(SIGCHLD, &inherited_sigchld_, nullptr);
        ::sigprocmask(SIG_SETMASK, &inherited_mask_, nullptr);
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

void AcceptLoop::reap() {
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
     options, "lstream-accept"},
    plan,
};

} // namespace toolkit::applets
