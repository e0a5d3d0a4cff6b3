// Exit statuses, the failure type shared helpers throw, and one-write messages on stderr.
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

namespace toolkit {

enum ExitStatus : int {
    exit_success = 0,
    exit_usage = 100,      // bad option, bad number, missing operand or next program
    exit_failure = 111,    // a system call or a lookup failed
    exit_cannot_run = 126, // the next program exists but cannot be executed
    exit_not_found = 127,  // the next program (or applet) was not found
};

// What ends a program: thrown by helpers and applets, printed once by main().
class Failure {
  public:
    Failure(int status, std::string subject, std::string detail)
        : status_(status), subject_(std::move(subject)), detail_(std::move(detail)) {}
    int status() const { return status_; }
    const std::string& subject() const { return subject_; }
    const std::string& detail() const { return detail_; }

  private:
    int status_;
    std::string subject_;
    std::string detail_;
};

// Not an error: the program has already said what it had to (--help) and ends with status.
struct EarlyExit {
    int status;
};

Failure usage_error(std::string subject, std::string detail);
// DETAIL is strerror(err).
Failure system_error(std::string subject, int err);
Failure lookup_error(std::string subject, std::string detail);

// The name every message starts with: the applet that is running (or "toolkit").
void set_program_name(std::string_view name);
std::string_view program_name();

// Code that may run on a stack the sanitizers do not know (a child started
// by spawn.cpp) is left out of AddressSanitizer's instrumentation.
#define TOOLKIT_ON_FOREIGN_STACK __attribute__((no_sanitize("address")))

// The one formatter of every line toolkit writes on stderr: a fatal error in
// main() or in a spawned child, an error or warning, a -v log line. It never
// allocates (a spawned child shares the server's memory and must not), and
// builds the whole line first so that it goes out in one write(2): lines
// from children sharing stderr never interleave. A part that does not fit
// is cut; the newline is always there.
class MessageLine {
  public:
    // The longest line, newline excluded; the rest of a longer one is cut.
    static constexpr std::size_t capacity = 4096;

    // "NAME: " (the running applet's name) and nothing else yet.
    TOOLKIT_ON_FOREIGN_STACK MessageLine();
    // "NAME: LEVEL: SUBJECT: DETAIL"; an empty SUBJECT is left out.
    TOOLKIT_ON_FOREIGN_STACK MessageLine(std::string_view level, std::string_view subject,
                                         std::string_view detail);

    TOOLKIT_ON_FOREIGN_STACK MessageLine& add(std::string_view text);
    // A number in decimal.
    template <std::integral Number> TOOLKIT_ON_FOREIGN_STACK MessageLine& add(Number number) {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
        return add(std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }

    // The line with its newline.
    TOOLKIT_ON_FOREIGN_STACK std::string_view text();
    // One write(2) to stderr; errno is left as it was.
    void write();

  private:
    char buffer_[capacity + 1];
    std::size_t size_ = 0;
};

// "NAME: LEVEL: SUBJECT: DETAIL\n" in one write(2) (see MessageLine).
void report(std::string_view level, std::string_view subject, std::string_view detail);
void report_fatal(const Failure& failure);
void warning(std::string_view subject, std::string_view detail);
void error(std::string_view subject, std::string_view detail);

// Write all of TEXT to FD, retrying on EINTR and short writes; false on failure.
bool write_all(int fd, std::string_view text);

// What was asked for on standard output (a usage, a list): a failure to write
// it all is a failure (111) naming standard output, not a silent success.
void write_output(std::string_view text);

// strerror's text without its allocation (translations): a spawned child may
// not allocate. "unknown error" for a number the C library does not know.
TOOLKIT_ON_FOREIGN_STACK const char* error_text(int err);

} // namespace toolkit
