// envdir: set (or unset) one variable per file of a directory, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"
#include "fd.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit::applets {

namespace {

// execve refuses a longer NAME=value string, its NUL included (MAX_ARG_STRLEN).
constexpr std::size_t longest_value = std::size_t{128} * 1024;

// The variable FILE (in DIRECTORY) stands for: its first line, NULs made
// newlines, trailing blanks dropped; nullopt when it is empty (unset).
std::optional<std::string> read_value(int directory, const std::string& shown, const char* file) {
    UniqueFd fd(::openat(directory, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) < 0) throw system_error(shown, errno);
    if (!S_ISREG(st.st_mode))
        throw Failure(exit_failure, shown,
                      std::string(file_kind(st.st_mode)) + ", not a regular file");
    std::string value;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_error(shown, errno);
        if (n == 0) break;
        value.append(buffer, static_cast<std::size_t>(n));
        if (value.find('\n') != std::string::npos) break;
        if (value.size() > longest_value)
            throw Failure(exit_failure, shown, "first line is too long for the environment");
    }
    if (value.empty()) return std::nullopt;
    value.resize(std::min(value.find('\n'), value.size()));
    value.resize(value.find_last_not_of(" \t") + 1); // npos + 1 == 0: all blanks
    for (char& c : value)
        if (c == '\0') c = '\n';
    return value;
}

// Reads DIRECTORY (as a process in PLACE sees it) and makes its changes in
// ENVIRONMENT; a file that cannot be read stops it.
void apply(const SearchPlace& place, const std::string& directory,
           PendingEnvironment& environment) {
    UniqueFd fd = open_in(place, directory, O_RDONLY | O_DIRECTORY);
    if (!fd) throw system_error(directory, errno);
    DIR* listing = ::fdopendir(fd.get());
    if (!listing) throw system_error(directory, errno);
    fd.release(); // closedir closes it
    std::unique_ptr<DIR, int (*)(DIR*)> closer(listing, ::closedir);
    for (errno = 0; const dirent* entry = ::readdir(listing); errno = 0) {
        std::string_view name = entry->d_name;
        // Dot files are not variables (as daemontools); nor is a name holding '=' (as s6).
        if (name.starts_with('.') || name.find('=') != std::string_view::npos) continue;
        std::string shown = directory + "/" + entry->d_name;
        auto value = read_value(::dirfd(listing), shown, entry->d_name);
        // NAME=VALUE and its NUL must fit in one argument string, or execve fails E2BIG.
        if (value && name.size() + value->size() + 2 > longest_value)
            throw Failure(exit_failure, shown, "first line is too long for the environment");
        if (value)
            environment.set(name, *value);
        else
            environment.unset(name);
    }
    if (errno) throw system_error(directory, errno);
}

class ReadDirectory : public Step {
  public:
    explicit ReadDirectory(std::string directory) : directory_(std::move(directory)) {}
    // Read again: the files may have changed since the chain was planned.
    void run(Chain& chain) override { apply({}, directory_, chain.environment); }

  private:
    std::string directory_;
};

// Read once while planning, so a missing directory or an unreadable file stops
// the chain, and so the final program is searched for in the PATH it will get.
std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string directory(invocation.path_operand("DIR"));
    PlannedChanges& planned = invocation.planned();
    apply({planned.root, planned.directory}, directory, planned.environment);
    planned.look_again = true;
    return std::make_unique<ReadDirectory>(std::move(directory));
}

} // namespace

extern const AppletInfo envdir{
    {"envdir",
     "DIR NEXT-PROG [ARGS...]",
     "Set each variable named by a file in DIR to that file's first line (an empty file unsets "
     "it), then run NEXT-PROG.",
     {}},
    plan,
};

} // namespace toolkit::applets
