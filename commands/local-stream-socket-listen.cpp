// local-stream-socket-listen: a listening AF_UNIX stream socket on descriptor 3+n, then chain.
#include "accounts.hpp"
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "listen_fds.hpp"
#include "socket.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace toolkit::applets {

namespace {

constexpr uid_t keep_uid = static_cast<uid_t>(-1);
constexpr gid_t keep_gid = static_cast<gid_t>(-1);

const OptionSpec options[] = {
    {"backlog", 'b', OptionKind::number, "N", "let N connections wait to be accepted (default 5)",
     0, INT_MAX},
    {"uid", 'u', OptionKind::number, "N", "give the socket file to user id N", 0, max_account_id},
    {"gid", 'g', OptionKind::number, "N", "give the socket file to group id N", 0, max_account_id},
    {"user", 0, OptionKind::text, "NAME", "give the socket file to the account NAME"},
    {"group", 0, OptionKind::text, "NAME", "give the socket file to the group NAME"},
    {"mode", 'm', OptionKind::number, "N", "permissions of the socket file (octal, e.g. 0660)", 0,
     07777, true},
    {"pass-credentials", 0, OptionKind::flag, "", "turn on SO_PASSCRED"},
    {"pass-security", 0, OptionKind::flag, "", "turn on SO_PASSSEC"},
    {"upstart-compatibility", 0, OptionKind::flag, "", "set UPSTART_FDS and UPSTART_EVENTS"},
    {"systemd-compatibility", 0, OptionKind::flag, "", "append the socket to a LISTEN_FDS set"},
    {"name", 0, OptionKind::text, "NAME", "the socket's name in LISTEN_FDNAMES"},
};

struct ListenPlan {
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

void set_flag(int fd, int option, const char* what) {
    int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, option, &on, sizeof on) < 0) throw system_error(what, errno);
}

// The directory PATH names a file in, opened once for the listen step:
// every look-up of that step is of the last component in this very
// directory, so renaming or replacing a directory above it cannot send a
// check and the action that follows to two different files. A symbolic link
// anywhere in the directory part is followed here, once; the last component
// never is. The descriptor is closed when the step ends, so that nothing of
// ours stays open in the rest of the chain; its identity is kept for the
// undo of a failed start.
struct PinnedDirectory {
    UniqueFd fd;
    // Read by the failure cleanup through std::optional (cppcheck 2.10 does not see it).
    // cppcheck-suppress unusedStructMember
    std::string path; // the directory part of PATH, as opened
    std::string leaf;
    dev_t device = 0;
    ino_t inode = 0;
};

PinnedDirectory pin_directory(const ListenPlan& plan) {
    SocketPathParts parts = split_socket_path("PATH", plan.name);
    PinnedDirectory pinned{
        UniqueFd(::open(parts.directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
        std::move(parts.directory), std::move(parts.leaf)};
    if (!pinned.fd) throw system_error(plan.name, errno);
    struct stat held;
    if (::fstat(pinned.fd.get(), &held) < 0) throw system_error(plan.name, errno);
    pinned.device = held.st_dev;
    pinned.inode = held.st_ino;
    return pinned;
}

// bind(2) fails on an existing file, so a socket left by a server that is gone
// is removed first. Only a socket that refuses connections goes; anything
// else at PATH is left exactly as it was.
void remove_stale_socket(const ListenPlan& plan, const PinnedDirectory& directory) {
    const char* leaf = directory.leaf.c_str();
    struct stat found;
    if (::fstatat(directory.fd.get(), leaf, &found, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw system_error(plan.name, errno);
    }
    if (!S_ISSOCK(found.st_mode))
        throw Failure(exit_failure, plan.name,
                      "is " + std::string(file_kind(found.st_mode)) + ", not a socket; left alone");
    // Probe the very socket file that was looked at, through a handle on it.
    UniqueFd node(::openat(directory.fd.get(), leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!node) throw system_error(plan.name, errno);
    struct stat held;
    if (::fstat(node.get(), &held) < 0) throw system_error(plan.name, errno);
    if (held.st_dev != found.st_dev || held.st_ino != found.st_ino)
        throw Failure(exit_failure, plan.name, "changed while being checked; left alone");
    if (node_server_answers(plan.name, node.get(), plan.address))
        throw Failure(exit_failure, plan.name, "in use by a running server");
    // Unlink the very file we probed: one swapped in meanwhile is left alone.
    struct stat now;
    if (::fstatat(directory.fd.get(), leaf, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
        now.st_dev != found.st_dev || now.st_ino != found.st_ino)
        throw Failure(exit_failure, plan.name, "changed while being checked; left alone");
    if (::unlinkat(directory.fd.get(), leaf, 0) < 0 && errno != ENOENT)
        throw system_error(plan.name, errno);
}

// What is known of the file bind(2) just made, shared with the undo.
struct BoundNode {
    std::string directory; // PATH's directory part, to be opened again by the undo
    std::string leaf;
    dev_t directory_device = 0;
    ino_t directory_inode = 0;
    std::optional<std::uint32_t> kernel_inode; // sock_diag's, low 32 bits
    std::optional<mode_t> mode;
    uid_t owner = 0;
    std::optional<std::pair<dev_t, ino_t>> confirmed; // once checked through a handle

    // Whether NODE (found at the last component of PATH) is the file our
    // socket was bound to. Hard links and renames stay within one file
    // system, so the inode number is enough. Without sock_diag, settle for a
    // socket as bind just made it.
    bool is(const struct stat& node) const {
        if (!S_ISSOCK(node.st_mode)) return false;
        if (confirmed) return node.st_dev == confirmed->first && node.st_ino == confirmed->second;
        if (kernel_inode) return *kernel_inode == static_cast<std::uint32_t>(node.st_ino);
        return node.st_uid == owner && node.st_nlink == 1 &&
               (!mode || (node.st_mode & 0777) == (*mode & 0777));
    }

    // The undo of a failed start: remove the file only if it is still ours,
    // and only from the directory pinned by the listen step. That descriptor
    // is closed by now, so the directory is opened again by its path and
    // must be the same one; when it is not (a directory on the way renamed,
    // another current directory), nothing is removed.
    void remove() const {
        UniqueFd dir(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir) return;
        struct stat held;
        if (::fstat(dir.get(), &held) < 0 || held.st_dev != directory_device ||
            held.st_ino != directory_inode)
            return;
        struct stat now;
        if (::fstatat(dir.get(), leaf.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 && is(now))
            ::unlinkat(dir.get(), leaf.c_str(), 0);
    }
};

// A handle on the file our socket was bound to that nobody can redirect:
// O_PATH opens no file, O_NOFOLLOW takes a symbolic link as itself. The file
// must be a socket, and the very one the kernel bound ours to. When PATH's
// directory was swapped between pinning and bind(2), the pinned directory
// does not hold that file, and nothing is touched.
UniqueFd open_bound_node(const ListenPlan& plan, const PinnedDirectory& directory,
                         BoundNode& bound) {
    UniqueFd handle(
        ::openat(directory.fd.get(), directory.leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!handle && errno == ENOENT)
        throw Failure(exit_failure, plan.name, "is gone from its directory after bind; left alone");
    if (!handle) throw system_error(plan.name, errno);
    struct stat node;
    if (::fstat(handle.get(), &node) < 0) throw system_error(plan.name, errno);
    if (!bound.is(node))
        throw Failure(exit_failure, plan.name, "was replaced after bind; left alone");
    bound.confirmed = std::pair(node.st_dev, node.st_ino);
    return handle;
}

void set_owner_and_mode(const ListenPlan& plan, const PinnedDirectory& directory,
                        BoundNode& bound) {
    UniqueFd handle = open_bound_node(plan, directory, bound);
    if ((plan.uid != keep_uid || plan.gid != keep_gid) &&
        ::fchownat(handle.get(), "", plan.uid, plan.gid, AT_EMPTY_PATH) < 0)
        throw system_error(plan.name, errno);
    // The umask cannot give set-id and sticky bits (and chown clears set-id
    // bits): set them through the handle, whose /proc entry is that inode.
    if (plan.mode && (*plan.mode & 07000)) {
        std::string inode = "/proc/self/fd/" + std::to_string(handle.get());
        if (::chmod(inode.c_str(), *plan.mode) < 0) throw system_error(plan.name, errno);
    }
}

// LISTEN_FDNAMES must name every descriptor of the set, or libsystemd rejects it.
void append_fd_name(PendingEnvironment& environment, const ListenPlan& plan, int inherited) {
    const char* existing = environment.get("LISTEN_FDNAMES");
    if (!existing && !plan.fd_name) return;
    std::string names;
    if (inherited > 0 && existing && listen_fdnames_match(environment, inherited)) {
        names.append(existing).append(":");
    } else {
        if (inherited > 0 && existing)
            warning("LISTEN_FDNAMES", "does not match LISTEN_FDS=" + std::to_string(inherited) +
                                          "; the earlier descriptors are now named unknown");
        for (int i = 0; i < inherited; ++i)
            names.append("unknown:");
    }
    names.append(plan.fd_name.value_or("unknown"));
    environment.set("LISTEN_FDNAMES", names);
}

class Listen : public Step {
  public:
    explicit Listen(ListenPlan plan) : plan_(std::move(plan)) {}

    void run(Chain& chain) override {
        int inherited = plan_.systemd ? inherited_listen_fds(chain.environment, ::getpid()) : 0;
        int target = first_listen_fd + inherited;

        UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("socket", errno);
        if (plan_.pass_credentials) set_flag(socket.get(), SO_PASSCRED, "SO_PASSCRED");
        if (plan_.pass_security) set_flag(socket.get(), SO_PASSSEC, "SO_PASSSEC");
        std::optional<PinnedDirectory> directory;
        if (!plan_.address.abstract()) {
            directory.emplace(pin_directory(plan_));
            remove_stale_socket(plan_, *directory);
        }
        {
            std::optional<UmaskGuard> umask;
            if (plan_.mode) umask.emplace(~*plan_.mode & 0777);
            // bind(2) has no *at form: the full path, so that the socket's
            // name is PATH; the check after it catches a swapped directory.
            if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&plan_.address.address),
                       plan_.address.length) < 0)
                throw system_error(plan_.name, errno);
        }
        if (directory) {
            // The undo is in place before anything else can fail.
            auto bound = std::make_shared<BoundNode>(BoundNode{
                directory->path, directory->leaf, directory->device, directory->inode,
                bound_node_inode(socket.get()), plan_.mode, ::geteuid(), {}});
            chain.on_failure([bound] { bound->remove(); });
            // Owner and mode are final before listen(2): no client ever sees them otherwise.
            set_owner_and_mode(plan_, *directory, *bound);
            // Closed before the socket moves: the move could land on its number.
            directory.reset();
        }
        if (::listen(socket.get(), plan_.backlog) < 0) throw system_error(plan_.name, errno);
        fd_move(target, socket.release());

        if (plan_.systemd) {
            append_fd_name(chain.environment, plan_, inherited);
            chain.environment.set("LISTEN_FDS", std::to_string(inherited + 1));
            chain.environment.set("LISTEN_PID", std::to_string(::getpid()));
        }
        if (plan_.upstart) {
            chain.environment.set("UPSTART_FDS", std::to_string(target));
            chain.environment.set("UPSTART_EVENTS", "socket");
        }
    }

  private:
    ListenPlan plan_;
};

void check_fd_name(std::string_view name) {
    if (name.empty() || name.size() > 255)
        throw usage_error("--name", "must be 1 to 255 characters long");
    for (char c : name)
        if (c < ' ' || c > '~' || c == ':')
            throw usage_error("--name", "may hold printable ASCII characters only, and no ':'");
}

// Everything that can be refused without touching anything is refused here,
// account names included, so a bad chain stops before the socket exists.
std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    if (given.has("uid") && given.has("user"))
        throw usage_error("--user", "cannot be used with --uid");
    if (given.has("gid") && given.has("group"))
        throw usage_error("--group", "cannot be used with --gid");

    ListenPlan plan;
    plan.backlog = static_cast<int>(given.number("backlog").value_or(5));
    if (auto mode = given.number("mode")) plan.mode = static_cast<mode_t>(*mode);
    plan.pass_credentials = given.has("pass-credentials");
    plan.pass_security = given.has("pass-security");
    plan.upstart = given.has("upstart-compatibility");
    plan.systemd = given.has("systemd-compatibility");
    if (auto name = given.text("name")) {
        if (!plan.systemd) throw usage_error("--name", "needs --systemd-compatibility");
        check_fd_name(*name);
        plan.fd_name = std::string(*name);
    }

    plan.name = std::string(invocation.operand("PATH"));
    plan.address = make_local_address("PATH", plan.name);
    if (!plan.address.abstract()) split_socket_path("PATH", plan.name);
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

} // namespace

extern const AppletInfo local_stream_socket_listen{
    {"local-stream-socket-listen", "PATH NEXT-PROG [ARGS...]",
     "Listen on the AF_UNIX stream socket PATH (@NAME: abstract), on descriptor 3 (or the next one "
     "in a LISTEN_FDS set), then run NEXT-PROG.",
     options, "lstream-listen"},
    plan,
};

} // namespace toolkit::applets
