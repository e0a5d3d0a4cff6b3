// Finding and starting the next program: execvp's search without its surprises.
#pragma once

#include "diagnostics.hpp"
#include "fd.hpp"

#include <cerrno>
#include <string>
#include <string_view>

namespace toolkit {

// Where a program will run, when a link planned before it changes that: ROOT is
// the directory that will be its root (a path as seen from here; empty: this
// root), DIRECTORY its working directory inside that root (empty: the current
// one, or the top of a new root).
struct SearchPlace {
    std::string_view root;
    std::string_view directory;
};

// PATH as a process in PLACE will find it, opened with FLAGS (and O_CLOEXEC);
// inside a new root, ".." and absolute symbolic links stay in it. Empty, with
// errno set, when it cannot be opened.
UniqueFd open_in(const SearchPlace& place, std::string_view path, int flags);

// The search path used when PATH is unset: confstr(_CS_PATH), never ".".
std::string default_search_path();

// Where NAME would be executed from: NAME itself when it contains '/',
// otherwise the first executable NAME in PATH_VARIABLE (null: the default).
// Throws exit 127 when nothing is found, 126 when only something that cannot
// be executed is (a directory, no execute permission).
std::string find_program(std::string_view name, const char* path_variable);
// The same for a process in PLACE; the path returned is the one it will execve.
std::string find_program(std::string_view name, const char* path_variable,
                         const SearchPlace& place);

// Added to strerror's text when execve says ENOENT or ENOTDIR of a file that exists.
inline constexpr std::string_view interpreter_missing_hint =
    " (its #! interpreter or loader was not found)";

// What a failed execve means: the exit status, and a hint for the message.
struct ExecError {
    int status;
    std::string_view hint;
};

// The one 126/127 decision, for exec_program and for a spawned child alike:
// 127 when the file is gone; 126 when it exists but cannot be run, also when
// execve says ENOENT of a file that exists (its #! interpreter or loader is
// missing). PATH_EXISTS() is asked only then; a spawned child answers it
// without allocating.
template <typename Exists>
TOOLKIT_ON_FOREIGN_STACK ExecError exec_error(int err, Exists path_exists) {
    if (err != ENOENT && err != ENOTDIR) return {exit_cannot_run, {}};
    if (path_exists()) return {exit_cannot_run, interpreter_missing_hint};
    return {exit_not_found, {}};
}

// execve, and a failure with the status it means: 127 when the file is gone,
// 126 otherwise, also when the file exists but the interpreter its #! line
// names does not (there is no /bin/sh fallback for files without "#!").
[[noreturn]] void exec_program(const std::string& path, char* const* argv, char* const* envp);

} // namespace toolkit
