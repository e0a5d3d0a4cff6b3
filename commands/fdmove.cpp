// fdmove: move (or copy) a file descriptor to another number, then chain.
#include "applet.hpp"
#include "chain.hpp"
#include "fd.hpp"

namespace toolkit::applets {

namespace {

const OptionSpec options[] = {
    {"copy", 'c', OptionKind::flag, "", "copy FROM to TO and leave FROM open"},
};

class MoveDescriptor : public Step {
  public:
    MoveDescriptor(int to, int from, bool copy) : to_(to), from_(from), copy_(copy) {}
    void run(Chain&) override { fd_move(to_, from_, copy_); }

  private:
    int to_, from_;
    bool copy_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    bool copy = invocation.options().has("copy");
    int to = invocation.fd_operand("TO");
    int from = invocation.fd_operand("FROM");
    return std::make_unique<MoveDescriptor>(to, from, copy);
}

} // namespace

extern const AppletInfo fdmove{
    {"fdmove", "TO FROM NEXT-PROG [ARGS...]",
     "Make descriptor FROM available as TO (closing FROM unless copying), then run NEXT-PROG.",
     options},
    plan,
};

} // namespace toolkit::applets
