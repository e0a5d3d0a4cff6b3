// softlimit: set soft resource limits (never above the hard ones), then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "numbers.hpp"

#include <array>
#include <cerrno>
#include <string>
#include <sys/resource.h>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"memory", 'm', OptionKind::text, "N", "-d, -s, -l and -a at once"},
    {"address-space", 'a', OptionKind::text, "N", "RLIMIT_AS, bytes"},
    {"data", 'd', OptionKind::text, "N", "RLIMIT_DATA, bytes"},
    {"stack", 's', OptionKind::text, "N", "RLIMIT_STACK, bytes"},
    {"locked", 'l', OptionKind::text, "N", "RLIMIT_MEMLOCK, bytes"},
    {"open-files", 'o', OptionKind::text, "N", "RLIMIT_NOFILE, descriptors"},
    {"processes", 'p', OptionKind::text, "N", "RLIMIT_NPROC, processes"},
    {"file-size", 'f', OptionKind::text, "N", "RLIMIT_FSIZE, bytes"},
    {"core", 'c', OptionKind::text, "N", "RLIMIT_CORE, bytes"},
    {"resident", 'r', OptionKind::text, "N", "RLIMIT_RSS, bytes"},
    {"cpu-time", 't', OptionKind::text, "N", "RLIMIT_CPU, seconds"},
    {"verbose", 'v', OptionKind::flag, "", "say when a limit is capped"},
};

struct Limit {
    int resource;
    const char* option; // for messages
    bool to_hard;       // "=": as high as the hard limit
    rlim_t value;
};

// At most -m's four and one for each other resource: a fixed array, which
// costs the binary less than a vector's growth code.
struct Limits {
    std::array<Limit, 14> items;
    std::size_t count = 0;
};

class SetLimits : public Step {
  public:
    SetLimits(const Limits& limits, bool verbose) : limits_(limits), verbose_(verbose) {}
    void run(Chain&) override {
        for (std::size_t i = 0; i < limits_.count; ++i) {
            const Limit& limit = limits_.items[i];
            struct rlimit now;
            if (::getrlimit(limit.resource, &now) < 0) throw system_error(limit.option, errno);
            now.rlim_cur = limit.to_hard ? now.rlim_max : limit.value;
            // Above the hard limit only root could go, and it would raise the hard one: cap it.
            if (now.rlim_cur > now.rlim_max) {
                if (verbose_)
                    MessageLine("WARNING", limit.option, "")
                        .add(limit.value)
                        .add(" is above the hard limit; set to ")
                        .add(now.rlim_max)
                        .write();
                now.rlim_cur = now.rlim_max;
            }
            if (::setrlimit(limit.resource, &now) < 0) throw system_error(limit.option, errno);
        }
    }

  private:
    Limits limits_;
    bool verbose_;
};

// The options that set one resource each, in the order they are applied.
struct Resource {
    std::string_view name;
    const char* option; // for messages
    int resource;
};
constexpr Resource resources[] = {
    {"address-space", "-a", RLIMIT_AS},  {"data", "-d", RLIMIT_DATA},
    {"stack", "-s", RLIMIT_STACK},       {"locked", "-l", RLIMIT_MEMLOCK},
    {"open-files", "-o", RLIMIT_NOFILE}, {"processes", "-p", RLIMIT_NPROC},
    {"file-size", "-f", RLIMIT_FSIZE},   {"core", "-c", RLIMIT_CORE},
    {"resident", "-r", RLIMIT_RSS},      {"cpu-time", "-t", RLIMIT_CPU},
};

void add(Limits& limits, const char* option, int resource, std::optional<std::string_view> text) {
    if (!text) return;
    bool to_hard = *text == "=";
    rlim_t value = to_hard ? 0 : parse_number(option, *text, 0, RLIM_INFINITY);
    limits.items[limits.count++] = Limit{resource, option, to_hard, value};
}

// The planner's signature is AppletInfo::plan's, whether it takes operands or not.
// cppcheck-suppress constParameterCallback
std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    Limits limits;
    // -m first, so that a resource of its own given beside it wins, whatever the order.
    for (int resource : {RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK, RLIMIT_AS})
        add(limits, "-m", resource, given.text("memory"));
    for (const Resource& resource : resources)
        add(limits, resource.option, resource.resource, given.text(resource.name));
    return std::make_unique<SetLimits>(limits, given.has("verbose"));
}

} // namespace

extern const AppletInfo softlimit{
    {"softlimit", "NEXT-PROG [ARGS...]",
     "Set soft resource limits (N, or = for the hard one), then run NEXT-PROG.", options},
    plan,
};

} // namespace toolkit::applets
