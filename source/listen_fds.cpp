// Reading the systemd socket-passing variables strictly: anything odd means "none".
#include "listen_fds.hpp"

#include "numbers.hpp"

#include <climits>
#include <string_view>

namespace toolkit {

namespace {
std::optional<std::uint64_t> decimal(const char* text) {
    if (!text) return std::nullopt;
    auto number = read_c_number(text);
    if (!number || number->base != NumberBase::decimal) return std::nullopt;
    return number->value;
}
} // namespace

int inherited_listen_fds(const PendingEnvironment& environment, pid_t pid) {
    auto listen_pid = decimal(environment.get("LISTEN_PID"));
    auto listen_fds = decimal(environment.get("LISTEN_FDS"));
    if (!listen_pid || !listen_fds || *listen_pid != static_cast<std::uint64_t>(pid)) return 0;
    if (*listen_fds > static_cast<std::uint64_t>(INT_MAX - first_listen_fd)) return 0;
    return static_cast<int>(*listen_fds);
}

bool listen_fdnames_match(const PendingEnvironment& environment, int count) {
    const char* names = environment.get("LISTEN_FDNAMES");
    if (!names) return count == 0;
    std::string_view text(names);
    if (text.empty()) return count == 0; // as libsystemd reads it: no names at all
    int found = 1;
    for (char c : text)
        if (c == ':') ++found;
    return found == count;
}

} // namespace toolkit
