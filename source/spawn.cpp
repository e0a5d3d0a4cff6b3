// Why this file holds inline assembly, and the only file that does: on
// x86-64 a connection's child shares the server's memory until its execve
// (clone with CLONE_VM), errno included, while the server goes on serving.
// Such a child must not touch anything of the server's, so the few system
// calls it makes are made here directly, returning -errno instead of setting
// errno; and Valgrind, which cannot run such a child, is detected with its
// documented client request, which is also an instruction sequence.
#include "spawn.hpp"

#include "diagnostics.hpp"
#include "exec.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace toolkit {

void ConnectionVariables::add(std::string_view name, std::string_view value) {
    text_.append(name).append("=").append(value).push_back('\0');
    ends_.push_back(text_.size());
}

void restore_signals(const ChildSignals& signals) {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    if (signals.sigchld_ignored) ::sigaction(SIGCHLD, &action, nullptr);
    action.sa_handler = SIG_DFL;
    if (signals.sigpipe_default) ::sigaction(SIGPIPE, &action, nullptr);
    ::sigprocmask(SIG_SETMASK, &signals.mask, nullptr);
}

namespace {

// What a child reads from memory that stays put until it has exec'd.
struct ExecPlan {
    const char* path;
    char* const* argv;
    char* const* envp;
    int connection;
    const ChildSignals* signals;
};

// The system calls of a child before its execve: never through errno.
namespace child {

#if defined(__x86_64__)
constexpr bool can_share_memory = true;

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
TOOLKIT_ON_FOREIGN_STACK long set_disposition(int signal, void (*handler)(int)) {
    struct {
        unsigned long handler, flags, restorer, mask; // the kernel's struct sigaction here
    } action{reinterpret_cast<unsigned long>(handler), 0, 0, 0};
    return system_call(SYS_rt_sigaction, signal, reinterpret_cast<long>(&action), 0, _NSIG / 8);
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
// Elsewhere a child is always a fork, and the C library is ours to use.
constexpr bool can_share_memory = false;

long result(long value) {
    return value < 0 ? -errno : value;
}
long duplicate(int from, int to) {
    return result(::dup2(from, to));
}
long set_mask(const sigset_t* mask) {
    return result(::sigprocmask(SIG_SETMASK, mask, nullptr));
}
long set_disposition(int signal, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    return result(::sigaction(signal, &action, nullptr));
}
[[gnu::noinline]] long execute(const ExecPlan& plan) {
    return result(::execve(plan.path, plan.argv, plan.envp));
}
bool exists(const char* path) {
    return ::access(path, F_OK) == 0;
}
long write(int fd, const char* data, std::size_t size) {
    return result(::write(fd, data, size));
}
[[noreturn]] void exit(int status) {
    ::_exit(status);
}
bool under_valgrind() {
    return false;
}
#endif

} // namespace child

TOOLKIT_ON_FOREIGN_STACK void write_line(std::string_view line) {
    while (!line.empty()) {
        long n = child::write(STDERR_FILENO, line.data(), line.size());
        if (n == -EINTR) continue;
        if (n <= 0) return;
        line.remove_prefix(static_cast<std::size_t>(n));
    }
}

[[noreturn]] TOOLKIT_ON_FOREIGN_STACK void fatal(std::string_view subject, int err, int status,
                                                 std::string_view hint = {}) {
    MessageLine line("FATAL", subject, error_text(err));
    line.add(hint);
    write_line(line.text());
    child::exit(status);
}

// Whether the file a failed execve named is there (a lambda would be
// instrumented: this runs on the child's own stack).
struct PathExists {
    const char* path;
    TOOLKIT_ON_FOREIGN_STACK bool operator()() const { return child::exists(path); }
};

TOOLKIT_ON_FOREIGN_STACK int exec_child(void* argument) {
    const ExecPlan& plan = *static_cast<const ExecPlan*>(argument);
    // accept4 set close-on-exec on the connection; dup2 gives 0 and 1 without it.
    for (int target : {STDIN_FILENO, STDOUT_FILENO}) {
        long done;
        while ((done = child::duplicate(plan.connection, target)) == -EINTR) {
        }
        if (done < 0) fatal("descriptors 0 and 1", static_cast<int>(-done), exit_failure);
    }
    // Ignored signals stay ignored across execve: what the server ignores
    // for itself only is given back its default action here.
    if (plan.signals->sigchld_ignored) child::set_disposition(SIGCHLD, SIG_IGN);
    if (plan.signals->sigpipe_default) child::set_disposition(SIGPIPE, SIG_DFL);
    child::set_mask(&plan.signals->mask);
    int err = static_cast<int>(-child::execute(plan));
    ExecError error = exec_error(err, PathExists{plan.path});
    fatal(plan.path, err, error.status, error.hint);
}

// Memory of our own for one child that shares our memory until its execve:
// it reads its plan and environment from here and runs on the stack here.
// The kernel zeroes `busy` once that child has exec'd or ended
// (CLONE_CHILD_CLEARTID); only then is the slot ours again.
struct ChildSlot {
    pid_t busy = 0;
    ExecPlan plan{};
    ConnectionVariables variables;
    std::vector<char*> envp;
    char* stack_top = nullptr;
};

// ENVP becomes the base environment and VARIABLES' entries, which must outlive it.
ExecPlan make_plan(const ExecRequest& request, std::vector<char*>& envp,
                   ConnectionVariables& variables) {
    envp.assign(request.base_environment.begin(), request.base_environment.end());
    for (std::size_t i = 0; i < variables.count(); ++i)
        envp.push_back(variables.entry(i));
    envp.push_back(nullptr);
    return ExecPlan{request.path, request.argv, envp.data(), request.connection, request.signals};
}

} // namespace

[[noreturn]] void child_fatal(std::string_view subject, int err, int status,
                              std::string_view hint) {
    fatal(subject, err, status, hint);
}

struct Spawner::Slots {
    static constexpr std::size_t count = 8;
    static constexpr std::size_t stack_size = 16384; // a child needs about 5 KiB

    char* area = nullptr;
    std::size_t length = 0;
    std::array<ChildSlot, count> slots;

    // Each stack has an inaccessible page below it, so that an overflow
    // faults instead of writing over the next child's stack. Pages are only
    // touched (and counted) when a child runs there. False when the memory
    // cannot be had.
    bool map() {
        std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        std::size_t stack = (stack_size + page - 1) / page * page;
        length = count * (page + stack);
        void* mapped = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (mapped == MAP_FAILED) return false;
        area = static_cast<char*>(mapped);
        for (std::size_t i = 0; i < count; ++i) {
            char* guard = area + i * (page + stack);
            if (::mprotect(guard, page, PROT_NONE) < 0) return false;
            slots[i].stack_top = guard + page + stack;
        }
        return true;
    }

    ChildSlot* free_slot() {
        for (ChildSlot& slot : slots)
            if (__atomic_load_n(&slot.busy, __ATOMIC_ACQUIRE) == 0) return &slot;
        return nullptr;
    }

    // Before what the slots point into can go away: wait (at most a second
    // a slot) until no child is still reading one.
    void drain() {
        for (ChildSlot& slot : slots)
            for (int tries = 0; tries < 100 && __atomic_load_n(&slot.busy, __ATOMIC_ACQUIRE) != 0;
                 ++tries) {
                timespec pause{0, 10'000'000L};
                ::syscall(SYS_futex, &slot.busy, FUTEX_WAIT, 1, &pause, nullptr, 0);
            }
    }

    ~Slots() {
        drain();
        if (area) ::munmap(area, length);
    }
};

Spawner::Spawner(bool share_memory) {
    if (!share_memory || !child::can_share_memory || child::under_valgrind()) return;
    auto slots = std::make_unique<Slots>();
    if (slots->map()) slots_ = std::move(slots);
}

Spawner::~Spawner() = default;

bool Spawner::shares_memory() const {
    return slots_ && !refused_;
}

pid_t Spawner::start(const ExecRequest& request) {
    if (ChildSlot* slot = shares_memory() ? slots_->free_slot() : nullptr) {
        slot->variables = *request.variables;
        slot->plan = make_plan(request, slot->envp, slot->variables);
        slot->busy = 1;
        pid_t pid = ::clone(exec_child, slot->stack_top, CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD,
                            &slot->plan, nullptr, nullptr, &slot->busy);
        if (pid >= 0) return pid;
        slot->busy = 0;
        if (errno == EAGAIN || errno == ENOMEM) return pid; // short of processes or memory
        // Refused outright (a seccomp filter, say): from now on every child is a fork.
        refused_ = true;
    }
    // Every slot in use, or no slots here: the child is a copy of us.
    ExecPlan plan = make_plan(request, fork_envp_, *request.variables);
    pid_t pid = ::fork();
    if (pid == 0) exec_child(&plan);
    return pid;
}

} // namespace toolkit
