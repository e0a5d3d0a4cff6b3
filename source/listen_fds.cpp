// Reading the systemd socket-passing variables strictly: anything odd means "none".
#include "listen_fds.hpp"

#include "diagnostics.hpp"
#include "numbers.hpp"

#include <climits>
#include <string_view>
#include <unistd.h>

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

void check_listen_fd_name(std::string_view name) {
    if (name.empty() || name.size() > 255)
        throw usage_error("--name", "must be 1 to 255 characters long");
    for (char c : name)
        if (c < ' ' || c > '~' || c == ':')
            throw usage_error("--name", "may hold printable ASCII characters only, and no ':'");
}

namespace {

// LISTEN_FDNAMES must name every descriptor of the set, or libsystemd rejects it.
void append_fd_name(PendingEnvironment& environment, const std::optional<std::string>& name,
                    int inherited) {
    const char* existing = environment.get("LISTEN_FDNAMES");
    if (!existing && !name) return;
    std::string names;
    if (inherited > 0 && existing && listen_fdnames_match(environment, inherited)) {
        names.append(existing).append(":");
    } else {
        if (inherited > 0 && existing)
            warning("LISTEN_FDNAMES", "does not match LISTEN_FDS=" + std::to_string(inherited) +
                                          "; the earlier descriptors are now named unknown");
        for (int i = 0; i < inherited; ++i)
            names.append("unknown:");
    }
    names.append(name.value_or("unknown"));
    environment.set("LISTEN_FDNAMES", names);
}

} // namespace

void announce_listener(PendingEnvironment& environment, const ListenAnnouncement& announcement,
                       int inherited) {
    if (announcement.systemd) {
        append_fd_name(environment, announcement.name, inherited);
        environment.set("LISTEN_FDS", std::to_string(inherited + 1));
        environment.set("LISTEN_PID", std::to_string(::getpid()));
    }
    if (announcement.upstart) {
        environment.set("UPSTART_FDS", std::to_string(first_listen_fd + inherited));
        environment.set("UPSTART_EVENTS", "socket");
    }
}

} // namespace toolkit
