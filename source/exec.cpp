// The PATH policy and execve, with the 126/127 statuses.
#include "exec.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace toolkit {

namespace {

enum class Candidate { missing, runnable, not_runnable };

bool missing_error(int err) {
    return err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG || err == ELOOP;
}

// The same verdict for a process in another root or directory, through the file itself.
Candidate examine_in(const SearchPlace& place, const std::string& path, int& err) {
    UniqueFd fd = open_in(place, path, O_PATH);
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) < 0) {
        err = errno;
        return missing_error(err) ? Candidate::missing : Candidate::not_runnable;
    }
    if (S_ISDIR(st.st_mode)) {
        err = EISDIR;
        return Candidate::not_runnable;
    }
    if (::faccessat(fd.get(), "", X_OK, AT_EMPTY_PATH) < 0) {
        err = errno;
        // Without faccessat2 (Linux < 5.8) the mode bits are all there is to go by.
        if (err != EINVAL && err != ENOSYS) return Candidate::not_runnable;
        if (!(st.st_mode & 0111)) return err = EACCES, Candidate::not_runnable;
    }
    return Candidate::runnable;
}

Candidate examine(const SearchPlace* place, const std::string& path, int& err) {
    if (place) return examine_in(*place, path, err);
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
        err = errno;
        return missing_error(err) ? Candidate::missing : Candidate::not_runnable;
    }
    if (S_ISDIR(st.st_mode)) {
        err = EISDIR;
        return Candidate::not_runnable;
    }
    if (::access(path.c_str(), X_OK) < 0) {
        err = errno;
        return Candidate::not_runnable;
    }
    return Candidate::runnable;
}

} // namespace

std::string default_search_path() {
    char buffer[256];
    std::size_t needed = ::confstr(_CS_PATH, buffer, sizeof buffer);
    if (needed == 0) return "/bin:/usr/bin";
    if (needed <= sizeof buffer) return std::string(buffer, needed - 1);
    std::string path(needed, '\0');
    ::confstr(_CS_PATH, path.data(), needed);
    path.resize(needed - 1);
    return path;
}

UniqueFd open_in(const SearchPlace& place, std::string_view path, int flags) {
    std::string full;
    if (!path.starts_with('/') && !place.directory.empty())
        full.append(place.directory).append("/");
    full.append(path);
    flags |= O_CLOEXEC;
    if (place.root.empty()) return UniqueFd(::open(full.c_str(), flags));
    UniqueFd root(::open(std::string(place.root).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return root;
    struct open_how how = {};
    how.flags = static_cast<unsigned>(flags);
    how.resolve = RESOLVE_IN_ROOT;
    long fd = ::syscall(SYS_openat2, root.get(), full.c_str(), &how, sizeof how);
    // Before Linux 5.6: the same walk, only absolute symbolic links lead out of the root.
    if (fd < 0 && errno == ENOSYS) {
        std::size_t start = full.find_first_not_of('/');
        const char* inside = start == std::string::npos ? "." : full.c_str() + start;
        fd = ::openat(root.get(), inside, flags);
    }
    return UniqueFd(static_cast<int>(fd));
}

namespace {

std::string find_program_from(std::string_view name, const char* path_variable,
                              const SearchPlace* place) {
    if (name.empty()) throw Failure(exit_not_found, "\"\"", "empty program name");
    int err = 0;
    if (name.find('/') != std::string_view::npos) {
        std::string path(name);
        switch (examine(place, path, err)) {
        case Candidate::runnable:
            return path;
        case Candidate::missing:
            throw Failure(exit_not_found, path, "not found");
        case Candidate::not_runnable:
            throw Failure(exit_cannot_run, path, std::strerror(err));
        }
    }
    std::string search = path_variable ? std::string(path_variable) : default_search_path();
    int refused = 0; // errno of the first candidate that exists but cannot run
    std::string refused_path;
    std::size_t start = 0;
    for (;;) {
        std::size_t colon = search.find(':', start);
        std::string directory =
            search.substr(start, colon == std::string::npos ? colon : colon - start);
        // As execvp: an empty element of a PATH that is set means the current directory.
        std::string candidate = (directory.empty() ? std::string(".") : directory) + "/";
        candidate.append(name);
        switch (examine(place, candidate, err)) {
        case Candidate::runnable:
            return candidate;
        case Candidate::not_runnable:
            if (!refused) {
                refused = err;
                refused_path = candidate;
            }
            break;
        case Candidate::missing:
            break;
        }
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (refused) throw Failure(exit_cannot_run, refused_path, std::strerror(refused));
    throw Failure(exit_not_found, std::string(name), "not found in PATH");
}

} // namespace

std::string find_program(std::string_view name, const char* path_variable) {
    return find_program_from(name, path_variable, nullptr);
}

std::string find_program(std::string_view name, const char* path_variable,
                         const SearchPlace& place) {
    bool moved = !place.root.empty() || !place.directory.empty();
    return find_program_from(name, path_variable, moved ? &place : nullptr);
}

void exec_program(const std::string& path, char* const* argv, char* const* envp) {
    ::execve(path.c_str(), argv, envp);
    int err = errno;
    ExecError error = exec_error(err, [&path] {
        struct stat st;
        return ::stat(path.c_str(), &st) == 0;
    });
    throw Failure(error.status, path, std::string(std::strerror(err)).append(error.hint));
}

} // namespace toolkit
