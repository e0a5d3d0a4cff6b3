// The file of a local socket: where it goes, whether a server holds one already, and the node
// bind(2) made.
#pragma once

#include "fd.hpp"
#include "socket.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <utility>

namespace toolkit {

// The inode number of the filesystem node the kernel bound SOCKET_FD to, as
// the kernel's socket diagnostics (sock_diag) report it: only its low 32 bits
// are reported. nullopt when the kernel cannot tell (no unix_diag support).
std::optional<std::uint32_t> bound_node_inode(int socket_fd);

// A socket path cut where its directory ends: "a/b/s" is "a/b" and "s",
// "s" is "." and "s", "/s" is "/" and "s". A path whose last component is
// empty, "." or ".." names no new file: a usage error naming SUBJECT.
struct SocketPathParts {
    std::string directory;
    std::string leaf;
};
SocketPathParts split_socket_path(std::string_view subject, std::string_view path);

// Whether a socket of TYPE (SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM) is
// bound at ADDRESS and in use: a listening server, or a bound datagram
// socket. The probe never waits (a full backlog counts as a server); a
// refused connection means nobody. A live socket of another type counts as
// in use. Any other error is thrown, naming SUBJECT.
bool server_answers(std::string_view subject, const LocalAddress& address, int type = SOCK_STREAM);

// The same question about the socket file NODE_FD holds (an O_PATH handle),
// asked through /proc/self/fd so that no path is resolved again. Without
// /proc, FALLBACK is asked instead.
bool node_server_answers(std::string_view subject, int node_fd, const LocalAddress& fallback,
                         int type = SOCK_STREAM);

// The node of a listening socket, from before bind(2) until it is handed on.
// PATH's directory is opened once: every look-up is of the last component in
// that very directory, so renaming or replacing a directory above it cannot
// send a check and the action that follows to two different files. A
// symbolic link in the directory part is followed then, once; the last
// component never is. What bind made is recorded, so that the owner and mode
// are set only on that file, and the undo of a failed start removes only it.
class SocketNode {
  public:
    // Open the directory of PATH (its name for messages, too).
    explicit SocketNode(std::string_view path);

    // bind(2) fails on an existing file, so a socket left by a server that is
    // gone is removed first. Only a socket that refuses connections of TYPE
    // (probed at ADDRESS's file through a handle) goes; a running server or anything
    // that is not a socket is an error, and nothing is touched.
    void remove_stale(const LocalAddress& address, int type = SOCK_STREAM);

    // After bind(2) of SOCKET_FD at the path, with the umask giving MODE (or
    // none): record which file it made, while the directory is still open.
    void record_bind(int socket_fd, std::optional<mode_t> mode);

    // Give the node we made an owner (-1: unchanged) and the set-id and
    // sticky bits of MODE, through a handle that is checked to be that node.
    void set_owner_and_mode(uid_t uid, gid_t gid, std::optional<mode_t> mode);

    // Close the directory: nothing of ours stays open in the rest of the chain.
    void close_directory() { directory_.reset(); }

    // The undo of a failed start: remove the file only if it is still ours,
    // from the same directory (opened again by its absolute name, taken when
    // it was first opened, so that a later chdir does not change it; then
    // compared: a directory renamed or replaced meanwhile, or out of reach
    // after a chroot, is left alone). False when our node stays, with the
    // reason in REASON.
    bool remove(std::string& reason) const;

    const std::string& path() const { return path_; }

  private:
    bool is_ours(const struct stat& node) const;
    UniqueFd open_bound();

    std::string path_;           // PATH as given
    std::string directory_path_; // absolute when it could be made so
    std::string leaf_;
    UniqueFd directory_;
    dev_t directory_device_ = 0;
    ino_t directory_inode_ = 0;
    // What bind made: the kernel's inode number (sock_diag's, low 32 bits),
    // or else the mode and owner it was made with; then the node itself once
    // checked through a handle.
    std::optional<std::uint32_t> kernel_inode_;
    std::optional<mode_t> mode_;
    uid_t owner_ = 0;
    std::optional<std::pair<dev_t, ino_t>> confirmed_;
    // Bind's file was found elsewhere or replaced, and the failure said "left alone".
    bool said_left_ = false;
};

} // namespace toolkit
