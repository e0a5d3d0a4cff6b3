// Dispatch on the invoked name, the multiplexer's own options, and the one
// place where a fatal error is printed and turned into an exit status.
#include "chain.hpp"
#include "diagnostics.hpp"
#include "install.hpp"
#include "registry.hpp"

#include <cstdlib>
#include <new>
#include <string>
#include <unistd.h>

extern char** environ;

namespace toolkit {
namespace {

constexpr std::string_view multiplexer_usage =
    "Usage: toolkit APPLET [ARGS...]\n"
    "       toolkit --list | --help | --version | --install [-s] DIRECTORY\n"
    "Run APPLET; or, when invoked under an applet's name, run that applet.\n"
    "\n"
    "  --list          print the applet names, one per line\n"
    "  --help          print this help\n"
    "  --version       print the version\n"
    "  --install [-s] DIR\n"
    "                  make a hard link (with -s, a symbolic link) to toolkit\n"
    "                  in DIR for every applet; existing files that are not\n"
    "                  already links to toolkit are left alone\n"
    "\nApplets:\n";

std::string applet_list() {
    std::string list;
    for (const AppletInfo* applet : all_applets())
        list.append(applet->syntax.name).append("\n");
    return list;
}

Failure unknown_applet(std::string_view name) {
    std::string detail = "unknown applet";
    std::string_view near = nearest_applet(name);
    if (!near.empty()) detail.append(" (did you mean ").append(near).append("?)");
    return Failure(exit_not_found, std::string(name), detail);
}

[[noreturn]] void run_applet(const AppletInfo& applet, std::span<char* const> args) {
    Chain chain(environ);
    int status = exit_failure;
    try {
        chain.plan(applet, args);
        chain.run();
    } catch (const Failure& failure) {
        report_fatal(failure);
        status = failure.status();
    } catch (const std::bad_alloc&) {
        report("FATAL", "", "out of memory");
    }
    // What earlier links made (a socket node) is undone after the line that
    // says why; anything the undo has to say comes after it.
    chain.run_failure_actions();
    std::exit(status);
}

int multiplexer(int argc, char** argv) {
    if (argc < 2) {
        write_all(STDERR_FILENO, std::string(multiplexer_usage) + applet_list());
        return exit_usage;
    }
    std::string_view first = argv[1];
    bool lone = first == "--list" || first == "--help" || first == "--usage" || first == "-?" ||
                first == "--version";
    if (lone && argc > 2) throw usage_error(std::string(first), "takes no arguments");
    if (first == "--list") return write_output(applet_list()), exit_success;
    if (first == "--help" || first == "--usage" || first == "-?")
        return write_output(std::string(multiplexer_usage) + applet_list()), exit_success;
    if (first == "--version") return write_output("toolkit " TOOLKIT_VERSION "\n"), exit_success;
    if (first == "--install")
        return install_command(
            std::span<char* const>(argv + 2, static_cast<std::size_t>(argc - 2)));
    if (first.starts_with("-")) throw usage_error(std::string(first), "unknown option");
    if (first.empty()) throw usage_error("APPLET", "empty applet name");
    const AppletInfo* applet = find_applet(first);
    if (!applet) throw unknown_applet(first);
    run_applet(*applet, std::span<char* const>(argv + 1, static_cast<std::size_t>(argc - 1)));
}

int dispatch(int argc, char** argv) {
    std::string_view invoked = argc > 0 && argv[0] ? argv[0] : "toolkit";
    if (auto slash = invoked.rfind('/'); slash != std::string_view::npos)
        invoked.remove_prefix(slash + 1);
    if (const AppletInfo* applet = find_applet(invoked))
        run_applet(*applet, std::span<char* const>(argv, static_cast<std::size_t>(argc)));
    if (invoked.starts_with("toolkit")) return multiplexer(argc, argv);
    // Invoked as "" or "dir/": name what it was invoked as.
    if (invoked.empty())
        throw Failure(exit_not_found, "\"" + std::string(argc > 0 && argv[0] ? argv[0] : "") + "\"",
                      "unknown applet (invoked by a name that is empty after its last '/')");
    throw unknown_applet(invoked);
}

} // namespace
} // namespace toolkit

// std::terminate only happens on a bug (main catches everything it expects).
// Replacing libstdc++'s verbose handler keeps its demangler (~45 KiB) out of
// the binary; the message still names the program.
namespace __gnu_cxx {
void __verbose_terminate_handler() {
    toolkit::report("FATAL", "", "internal error: std::terminate called");
    std::abort();
}
} // namespace __gnu_cxx

int main(int argc, char** argv) {
    using namespace toolkit;
    try {
        return dispatch(argc, argv);
    } catch (const Failure& failure) {
        report_fatal(failure);
        return failure.status();
    } catch (const EarlyExit& early) {
        return early.status;
    } catch (const std::bad_alloc&) {
        report("FATAL", "", "out of memory");
        return exit_failure;
    }
}
