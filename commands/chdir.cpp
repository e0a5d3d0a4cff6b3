// chdir: change the working directory, then chain.
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

class ChangeDirectory : public Step {
  public:
    explicit ChangeDirectory(std::string directory) : directory_(std::move(directory)) {}
    void run(Chain&) override {
        if (::chdir(directory_.c_str()) < 0) throw system_error(directory_, errno);
    }

  private:
    std::string directory_;
};

// DIR must be a directory where the links before this one will have put the
// process; from here on, a relative NEXT-PROG or PATH entry is looked up in it.
std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string directory(invocation.path_operand("DIR"));
    PlannedChanges& planned = invocation.planned();
    UniqueFd opened = open_in({planned.root, planned.directory}, directory, O_PATH | O_DIRECTORY);
    if (!opened) throw system_error(directory, errno);
    // An O_PATH open needs no search permission; chdir(2) does, and so does
    // looking up "." in it (faccessat with AT_EMPTY_PATH needs Linux 5.8).
    if (!UniqueFd(::openat(opened.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC)))
        throw system_error(directory, errno);
    if (directory.starts_with('/') || planned.directory.empty())
        planned.directory = directory;
    else
        planned.directory.append("/").append(directory);
    return std::make_unique<ChangeDirectory>(std::move(directory));
}

} // namespace

extern const AppletInfo chdir{
    {"chdir", "DIR NEXT-PROG [ARGS...]", "Make DIR the working directory, then run NEXT-PROG.", {}},
    plan,
};

} // namespace toolkit::applets
