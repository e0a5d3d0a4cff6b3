// Messages on stderr and the failure values behind them.
// <assert.h> declares __assert_fail, defined below, only where assertions are on.
#undef NDEBUG
#include <cassert>

#include "diagnostics.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
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

void set_program_name(std::string_view name) {
    current_name = name;
}
std::string_view program_name() {
    return current_name;
}

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

void write_output(std::string_view text) {
    if (!write_all(STDOUT_FILENO, text)) throw system_error("standard output", errno);
}

MessageLine::MessageLine() {
    add(current_name).add(": ");
}

MessageLine::MessageLine(std::string_view level, std::string_view subject, std::string_view detail)
    : MessageLine() {
    add(level).add(": ");
    if (!subject.empty()) add(subject).add(": ");
    add(detail);
}

MessageLine& MessageLine::add(std::string_view text) {
    // A control character in a name (a file in an envdir directory, an
    // operand) is written as an escape (\n, \t, \x1b): a message stays one
    // line, and no one who names a file can forge a line of ours or move a
    // terminal's cursor.
    static constexpr char hex[] = "0123456789abcdef";
    while (!text.empty()) {
        std::size_t plain = 0;
        for (; plain < text.size(); ++plain) {
            auto byte = static_cast<unsigned char>(text[plain]);
            if (byte < 0x20 || byte == 0x7f) break;
        }
        std::size_t n = std::min(plain, capacity - size_);
        // An empty view may hold a null pointer, which memcpy must not be given.
        if (n != 0) std::memcpy(buffer_ + size_, text.data(), n);
        size_ += n;
        if (n < plain || plain == text.size()) break;
        auto byte = static_cast<unsigned char>(text[plain]);
        char escaped[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 0xf]};
        std::size_t length = 4;
        if (byte == '\n' || byte == '\t') {
            escaped[1] = byte == '\n' ? 'n' : 't';
            length = 2;
        }
        if (capacity - size_ < length) break;
        std::memcpy(buffer_ + size_, escaped, length);
        size_ += length;
        text.remove_prefix(plain + 1);
    }
    return *this;
}

std::string_view MessageLine::text() {
    buffer_[size_] = '\n'; // the buffer has room for it beyond capacity
    return std::string_view(buffer_, size_ + 1);
}

void MessageLine::write() {
    int saved = errno; // callers may still want the errno that led here
    write_all(STDERR_FILENO, text());
    errno = saved;
}

const char* error_text(int err) {
    const char* text = ::strerrordesc_np(err);
    return text ? text : "unknown error";
}

void report(std::string_view level, std::string_view subject, std::string_view detail) {
    MessageLine(level, subject, detail).write();
}

void report_fatal(const Failure& failure) {
    report("FATAL", failure.subject(), failure.detail());
}
void warning(std::string_view subject, std::string_view detail) {
    report("WARNING", subject, detail);
}
void error(std::string_view subject, std::string_view detail) {
    report("ERROR", subject, detail);
}

} // namespace toolkit

// A failed assertion — in the C library, the C++ runtime or Boost; our own are
// compiled out of release builds — is reported in our format, in one write and
// without allocating (the heap may be what is broken), and then aborts. glibc's
// own handler formats through its wide-character printf engine, which would
// otherwise be the only reason a static build carries that engine (28 KB).
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* function) noexcept {
    auto text = [](const char* s) { return s ? std::string_view(s) : std::string_view("?"); };
    toolkit::MessageLine message("FATAL", "assertion failed", text(assertion));
    message.add(" (").add(text(file)).add(":").add(line).add(", in ").add(text(function)).add(")");
    message.write();
    std::abort();
}
