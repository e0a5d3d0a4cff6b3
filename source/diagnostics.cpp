// Messages on stderr and the failure values behind them.
// <assert.h> declares __assert_fail, defined below, only where assertions are on.
#undef NDEBUG
#include <cassert>

#include "diagnostics.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sys/uio.h>
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

// A failed assertion — in the C library, the C++ runtime or Boost; our own are
// compiled out of release builds — is reported in our format, in one write and
// without allocating (the heap may be what is broken), and then aborts. glibc's
// own handler formats through its wide-character printf engine, which would
// otherwise be the only reason a static build carries that engine (28 KB).
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* function) noexcept {
    char number[16];
    std::size_t digits =
        static_cast<std::size_t>(std::to_chars(number, number + sizeof number, line).ptr - number);
    std::string_view name = toolkit::program_name();
    auto piece = [](const void* data, std::size_t size) {
        return iovec{const_cast<void*>(data), size};
    };
    auto text = [&piece](const char* s) { return s ? piece(s, std::strlen(s)) : piece("?", 1); };
    iovec line_parts[] = {
        piece(name.data(), name.size()),
        text(": FATAL: assertion failed: "),
        text(assertion),
        text(" ("),
        text(file),
        text(":"),
        piece(number, digits),
        text(", in "),
        text(function),
        text(")\n"),
    };
    ssize_t ignored = ::writev(STDERR_FILENO, line_parts, sizeof line_parts / sizeof line_parts[0]);
    static_cast<void>(ignored);
    std::abort();
}
