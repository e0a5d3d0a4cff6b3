// Messages on stderr and the failure values behind them.
#include "diagnostics.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace toolkit {

namespace {
std::string_view current_name = "toolkit";
}

Failure usage_error(std::string subject, std::string detail) {
    return Failure(exit_usage, std::move(subject), std::move(detail));
}

Failure system_error(std::string subject, int err) {
    return Failure(exit_failure, std::move(subject), std::strerror(err));
}

Failure lookup_error(std::string subject, std::string detail) {
    return Failure(exit_failure, std::move(subject), std::move(detail));
}

void set_program_name(std::string_view name) { current_name = name; }
std::string_view program_name() { return current_name; }

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void report(std::string_view level, std::string_view subject, std::string_view detail) {
    int saved = errno; // callers may still want the errno that led here
    std::string line;
    line.reserve(current_name.size() + level.size() + subject.size() + detail.size() + 8);
    line.append(current_name).append(": ").append(level).append(": ");
    if (!subject.empty()) line.append(subject).append(": ");
    line.append(detail).push_back('\n');
    write_all(STDERR_FILENO, line);
    errno = saved;
}

void report_fatal(const Failure& failure) { report("FATAL", failure.subject(), failure.detail()); }
void warning(std::string_view subject, std::string_view detail) { report("WARNING", subject, detail); }
void error(std::string_view subject, std::string_view detail) { report("ERROR", subject, detail); }

} // namespace toolkit
