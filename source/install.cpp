// toolkit --install: one link per applet in a directory, and a report of what was done.
#include "install.hpp"

#include "diagnostics.hpp"
#include "fd.hpp"
#include "registry.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace toolkit {

namespace {

std::string running_binary() {
    char buffer[4096];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n < 0) throw system_error("/proc/self/exe", errno);
    return std::string(buffer, static_cast<std::size_t>(n));
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// One line of the report on stdout, "NAME: DONE PATH", NAME being the program's.
std::string progress_line(std::string_view done, std::string_view path) {
    return std::string(MessageLine().add(done).add(" ").add(path).text());
}

// What a symbolic link to BINARY made in DIRECTORY holds: the absolute path,
// or just the file name when DIRECTORY is the binary's own directory, so the
// pair can be copied into an image or a container together and still work.
std::string link_text(const std::string& binary, const struct stat& directory) {
    std::size_t slash = binary.rfind('/');
    if (slash == std::string::npos) return binary;
    std::string parent = slash == 0 ? "/" : binary.substr(0, slash);
    struct stat parent_stat;
    if (::stat(parent.c_str(), &parent_stat) == 0 && same_file(parent_stat, directory))
        return binary.substr(slash + 1);
    return binary;
}

} // namespace

int install_command(std::span<char* const> words) {
    bool symbolic = !words.empty() && std::string_view(words[0]) == "-s";
    std::size_t directory = symbolic ? 1 : 0;
    if (words.size() != directory + 1)
        throw usage_error("--install", "needs one DIRECTORY (and -s first for symbolic links)");
    return install_links(running_binary(), words[directory], symbolic);
}

int install_links(const std::string& binary, const std::string& directory, bool symbolic) {
    struct stat binary_stat;
    if (::stat(binary.c_str(), &binary_stat) < 0) throw system_error(binary, errno);
    // Every name is made relative to one descriptor of DIRECTORY: a directory
    // that cannot be used is one FATAL line before anything is done, and a
    // path component renamed midway cannot send the later links elsewhere.
    UniqueFd dir(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw system_error(directory, errno);
    struct stat dir_stat;
    if (::fstat(dir.get(), &dir_stat) < 0) throw system_error(directory, errno);
    std::string text = link_text(binary, dir_stat);

    int status = exit_success;
    std::string report;
    for (const AppletInfo* applet : all_applets()) {
        std::string name(applet->syntax.name);
        std::string target = directory;
        target.append("/").append(name);
        struct stat existing;
        if (::fstatat(dir.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
            struct stat resolved;
            if (::fstatat(dir.get(), name.c_str(), &resolved, 0) == 0 &&
                same_file(resolved, binary_stat)) {
                report += progress_line("kept", target);
            } else {
                error(target, "exists and is not a link to toolkit; left alone");
                status = exit_failure;
            }
            continue;
        }
        // Neither call replaces a name that appeared since the check: that fails with EEXIST.
        int made = symbolic ? ::symlinkat(text.c_str(), dir.get(), name.c_str())
                            : ::linkat(AT_FDCWD, binary.c_str(), dir.get(), name.c_str(), 0);
        if (made < 0) {
            error(target, std::strerror(errno));
            status = exit_failure;
            continue;
        }
        report += progress_line(symbolic ? "symlinked" : "linked", target);
    }
    write_output(report);
    return status;
}

} // namespace toolkit
