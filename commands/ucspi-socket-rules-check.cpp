// ucspi-socket-rules-check: let a connection go on, or end it, by the first rule of a file matching
// its client.
#include "access_rules.hpp"
#include "applet.hpp"
#include "chain.hpp"
#include "diagnostics.hpp"
#include "exec.hpp"

#include <fcntl.h>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"rules", 0, OptionKind::text, "FILE", "the rules file (required)"},
    {"verbose", 'v', OptionKind::flag, "",
     "one line on stderr per connection: the rule that decided"},
    {"quiet", 'q', OptionKind::flag, "", "no ERROR line for a connection that no rule matched"},
};

class CheckRules : public Step {
  public:
    CheckRules(std::string path, bool verbose, bool quiet)
        : path_(std::move(path)), verbose_(verbose), quiet_(quiet) {}

    // The whole file, names resolved: a bad line stops the chain before any link acts.
    // It is the file the check will read: in the root and directory that the links
    // before it (chroot, chdir) will have made. The rules point into planned_,
    // which stays where it is with this Step.
    void load(const PlannedChanges& planned) {
        UniqueFd fd =
            open_in({planned.root, planned.directory}, path_, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        planned_ = RulesFile::read(fd.release(), path_);
        rules_ = parse_rules(planned_.text(), path_);
    }

    // In the server, before a child: a file edited since is parsed here, once,
    // and not again in every child. A file that cannot be read or parsed is
    // left to the children, which deny with an ERROR line each; the server
    // tries it again only once it has changed again.
    void refresh() override {
        if (!planned_.may_differ_from(path_)) return;
        if (rejected_ && !rejected_->may_differ_from(path_)) return;
        try {
            RulesFile now = RulesFile::read(path_);
            std::vector<Rule> rules;
            try {
                rules = parse_rules(now.text(), path_);
            } catch (const Failure&) {
                rejected_ = std::move(now);
                return;
            }
            planned_ = std::move(now); // the rules' views follow the buffer it owns
            rules_ = std::move(rules);
            rejected_.reset();
        } catch (...) {
            // Nothing here may stop the server: its children decide for themselves.
        }
    }

    void run(Chain& chain) override {
        try {
            Client client = client_from_environment(chain.environment);
            RulesFile now = RulesFile::read(path_);
            // Unchanged since the chain was planned (a server's children inherit
            // that plan): nothing to parse or look up again. Changed: parsed whole,
            // so that a bad line anywhere denies, as it would have stopped the chain.
            if (!now.same_as(planned_)) {
                std::vector<Rule> rules = parse_rules(now.text(), path_);
                planned_ = std::move(now); // the rules' views follow the buffer it owns
                rules_ = std::move(rules);
            }
            Verdict verdict = first_match(rules_, client);
            if (verdict.line == 0) {
                if (!quiet_) error(path_, "no rule matched the " + describe(client));
                if (verbose_) say("deny " + path_ + ": no rule matched");
                end_connection(chain);
            }
            if (verbose_)
                say((verdict.allow ? "allow " : "deny ") + path_ + ":" +
                    std::to_string(verdict.line));
            if (!verdict.allow) end_connection(chain);
            apply_assignments(verdict.assignments, chain.environment);
        } catch (const Failure& failure) {
            // Fail closed: whatever keeps us from deciding refuses the connection.
            error(failure.subject(), failure.detail() + " (the connection is denied)");
            end_connection(chain);
        }
    }

  private:
    // One -v line; callers test verbose_ first, so that a quiet check builds no text.
    static void say(std::string_view text) {
        MessageLine().add(::getpid()).add(" ").add(text).write();
    }
    // A denied connection simply ends: nothing else runs, and it is no failure.
    [[noreturn]] static void end_connection(Chain& chain) {
        chain.run_failure_actions();
        ::_exit(exit_success);
    }

    std::string path_;
    bool verbose_, quiet_;
    RulesFile planned_;
    std::vector<Rule> rules_;
    std::optional<RulesFile> rejected_; // the last file the server could not parse
};

// Every planner has the signature AppletInfo::plan gives, whether it takes operands or not.
// cppcheck-suppress constParameterCallback
std::unique_ptr<Step> plan(Invocation& invocation) {
    const ParsedOptions& given = invocation.options();
    auto path = given.text("rules");
    if (!path || path->empty()) throw usage_error("--rules", "a rules FILE must be given");
    invocation.next_program();
    auto step =
        std::make_unique<CheckRules>(std::string(*path), given.has("verbose"), given.has("quiet"));
    step->load(invocation.planned());
    return step;
}

} // namespace

extern const AppletInfo ucspi_socket_rules_check{
    {"ucspi-socket-rules-check", "--rules FILE NEXT-PROG [ARGS...]",
     "Run NEXT-PROG for a connection whose client the first matching rule of FILE allows; "
     "end the connection when it denies, or when none matches.",
     options, "rules-check"},
    plan,
};

} // namespace toolkit::applets
