// File descriptors: an owning handle and the move/copy helpers chain-loaders need.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>

namespace toolkit {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

bool fd_is_open(int fd);

// "descriptor N": how messages name a descriptor.
std::string descriptor_name(int fd);

// The absolute path by which this process reaches the file FD holds, from
// /proc/self/fd, and only if that path leads back to the same file: not for
// a file outside our root or deleted, nor without /proc. Empty otherwise.
std::string path_of(int fd);

// Make FROM available as TO for the next program: TO is inheritable afterwards.
// With COPY, FROM stays open; otherwise it is closed. TO == FROM keeps the
// descriptor and only clears its close-on-exec flag. Throws naming the
// descriptor that was not open or could not be duplicated.
void fd_move(int to, int from, bool copy = false);

void set_close_on_exec(int fd, bool on);

// setsockopt(2) with an int VALUE; a failure is a system error naming the
// option (NAME, "SO_REUSEADDR" say: "setsockopt" alone would not tell which).
void set_socket_option(int fd, int level, int option, int value, const char* name);

// What a file of MODE is, for messages: "a regular file", "a directory", ...
std::string_view file_kind(mode_t mode);

} // namespace toolkit
