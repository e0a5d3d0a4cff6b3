// chroot: change the root directory (and go to its top), then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"
#include "fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace toolkit::applets {

namespace {

class ChangeRoot : public Step {
  public:
    explicit ChangeRoot(std::string root) : root_(std::move(root)) {}
    void run(Chain&) override {
        if (::chroot(root_.c_str()) < 0) throw system_error(root_, errno);
        // Without this the old working directory would stay reachable outside the new root.
        if (::chdir("/") < 0) throw system_error("chdir /", errno);
    }

  private:
    std::string root_;
};

// The rest of the chain is planned as it will run: its relative paths, PATH
// entries and the final program are looked up inside DIR.
std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string root(invocation.path_operand("DIR"));
    PlannedChanges& planned = invocation.planned();
    UniqueFd found = open_in({planned.root, planned.directory}, root, O_PATH | O_DIRECTORY);
    if (!found) throw system_error(root, errno);
    // The new root as a path from where planning looks: inside the root and
    // directory the links before this one will have made.
    std::string seen =
        root.starts_with('/') || planned.directory.empty() ? root : planned.directory + "/" + root;
    if (!planned.root.empty()) {
        // Inside a new root, DIR's symbolic links and ".." resolve in that root,
        // which joining the paths as text would not do: ask the kernel where
        // it found DIR. Without /proc (or outside our own root), the joined
        // text is the best there is.
        std::string absolute = path_of(found.get());
        if (!absolute.empty())
            seen = std::move(absolute);
        else
            seen = planned.root + (seen.starts_with('/') ? "" : "/") + seen;
    }
    planned.root = std::move(seen);
    planned.directory.clear();
    return std::make_unique<ChangeRoot>(std::move(root));
}

} // namespace

extern const AppletInfo chroot{
    {"chroot",
     "DIR NEXT-PROG [ARGS...]",
     "Make DIR the root directory and its top the working directory, then run NEXT-PROG found "
     "inside it.",
     {}},
    plan,
};

} // namespace toolkit::applets
