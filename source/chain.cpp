// Planning and running a chain of in-process links ended by one execve.
#include "chain.hpp"

#include "diagnostics.hpp"
#include "exec.hpp"
#include "registry.hpp"

#include <cstring>
#include <sys/prctl.h>
#include <unistd.h>
#include <utility>

namespace toolkit {

void Chain::plan(const AppletInfo& first, std::span<char* const> args) {
    PlannedChanges planned(environment.envp());
    const AppletInfo* applet = &first;
    for (;;) {
        set_program_name(applet->syntax.name);
        Invocation invocation(applet->syntax, args, &planned);
        links_.push_back(Link{applet, applet->plan(invocation)});
        args = args.subspan(invocation.next_program());
        std::string_view next = args[0];
        const AppletInfo* next_applet =
            next.find('/') == std::string_view::npos ? find_applet(next) : nullptr;
        if (!next_applet) break;
        applet = next_applet;
    }
    // An absolute name depends on the root alone; any other on PATH and the directory too.
    bool absolute = args[0][0] == '/';
    const char* path = planned.environment.get("PATH");
    std::string_view directory = absolute ? std::string_view() : planned.directory;
    program_path_ = find_program(args[0], path, SearchPlace{planned.root, directory});
    program_argv_ = args.data();
    // Found where the links will have put it; when they move it, it is looked for
    // again just before the execve, in the root, directory and PATH they really made.
    const char* path_now = environment.get("PATH");
    bool path_changed =
        path != path_now && (!path || !path_now || std::strcmp(path, path_now) != 0);
    look_again_ = !planned.root.empty() ||
                  (!absolute && (planned.look_again || !planned.directory.empty() || path_changed));
    gather_readiness();
}

// Any listen link may ask for readiness; it is signalled once for the whole
// chain (signal_readiness), so that a supervisor told "ready" finds every
// socket of the chain accepting connections and no link left that can fail.
void Chain::gather_readiness() {
    for (std::size_t i = 0; i < links_.size(); ++i) {
        const Readiness* asked = links_[i].step->readiness();
        if (!asked) continue;
        asked_by_ = i;
        if (asked->notify_fd) {
            if (readiness_.notify_fd && *readiness_.notify_fd != *asked->notify_fd)
                throw usage_error("--notify-fd", "given two descriptors in one chain (" +
                                                     std::to_string(*readiness_.notify_fd) +
                                                     " and " + std::to_string(*asked->notify_fd) +
                                                     ")");
            readiness_.notify_fd = asked->notify_fd;
        }
        readiness_.sd_notify = readiness_.sd_notify || asked->sd_notify;
    }
}

void Chain::enter(const Link& link) {
    set_program_name(link.applet->syntax.name);
    // The process list shows which link is running; each applet's name there is its own.
    char name[max_process_name + 1] = {};
    std::string_view shown = link.applet->syntax.shown_name().substr(0, max_process_name);
    shown.copy(name, shown.size());
    ::prctl(PR_SET_NAME, name, 0, 0, 0);
}

void Chain::run() {
    if (readiness_.wanted()) {
        // Named by the listen link that asked, not by the last link planned.
        set_program_name(links_[asked_by_].applet->syntax.name);
        check_readiness(readiness_, environment);
    }
    run_from(0);
}

void Chain::run_from(std::size_t index) {
    for (position_ = index; position_ < links_.size(); ++position_) {
        enter(links_[position_]);
        links_[position_].step->run(*this);
    }
    if (look_again_) program_path_ = find_program(program_argv_[0], environment.get("PATH"));
    // Only the execve itself can fail after this.
    signal_readiness();
    exec_program(program_path_, program_argv_, environment.envp());
}

void Chain::refresh_rest() {
    for (std::size_t i = position_ + 1; i < links_.size(); ++i)
        links_[i].step->refresh();
}

void Chain::signal_readiness() {
    if (!readiness_.wanted()) return;
    Readiness once = std::exchange(readiness_, Readiness{});
    std::string_view running = program_name();
    // A failure is about an option of the listen link that asked, whichever link runs now.
    set_program_name(links_[asked_by_].applet->syntax.name);
    announce_readiness(once);
    set_program_name(running);
}

void Chain::run_rest_in_child() {
    forget_failure_actions();
    // The server this child was forked from speaks for the chain; a child never does.
    readiness_ = Readiness{};
    try {
        run_from(position_ + 1);
    } catch (const Failure& failure) {
        // What the parent registered was forgotten above; what the links in
        // this child did (a socket node, say) is ours to undo, as main() would.
        report_fatal(failure);
        run_failure_actions();
        ::_exit(failure.status());
    } catch (...) {
        report("FATAL", "", "unexpected internal error");
        run_failure_actions();
        ::_exit(exit_failure);
    }
}

void Chain::run_failure_actions() {
    auto actions = std::move(undo_);
    undo_.clear();
    for (auto it = actions.rbegin(); it != actions.rend(); ++it)
        (*it)();
}

} // namespace toolkit
