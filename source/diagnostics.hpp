// Exit statuses, the failure type shared helpers throw, and one-write messages on stderr.
#pragma once

#include <string>
#include <string_view>

namespace toolkit {

enum ExitStatus : int {
    exit_success = 0,
    exit_usage = 100,        // bad option, bad number, missing operand or next program
    exit_failure = 111,      // a system call or a lookup failed
    exit_cannot_run = 126,   // the next program exists but cannot be executed
    exit_not_found = 127,    // the next program (or applet) was not found
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

// "NAME: LEVEL: SUBJECT: DETAIL\n" in one write(2), so lines from forked
// children sharing stderr never interleave. An empty SUBJECT is left out.
void report(std::string_view level, std::string_view subject, std::string_view detail);
void report_fatal(const Failure& failure);
void warning(std::string_view subject, std::string_view detail);
void error(std::string_view subject, std::string_view detail);

// Write all of TEXT to FD, retrying on EINTR and short writes; false on failure.
bool write_all(int fd, std::string_view text);

} // namespace toolkit
