// The PATH policy and execve, with the 126/127 statuses.
#include "exec.hpp"

#include "diagnostics.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

namespace {

enum class Candidate { missing, runnable, not_runnable };

Candidate examine(const std::string& path, int& err) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
        err = errno;
        return (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG || errno == ELOOP)
                   ? Candidate::missing
                   : Candidate::not_runnable;
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

std::string find_program(std::string_view name, const char* path_variable) {
    if (name.empty()) throw Failure(exit_not_found, "\"\"", "empty program name");
    int err = 0;
    if (name.find('/') != std::string_view::npos) {
        std::string path(name);
        switch (examine(path, err)) {
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
        std::string directory = search.substr(start, colon == std::string::npos ? colon : colon - start);
        // As execvp: an empty element of a PATH that is set means the current directory.
        std::string candidate = (directory.empty() ? std::string(".") : directory) + "/";
        candidate.append(name);
        switch (examine(candidate, err)) {
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
