// local-stream-socket-connect: connect to an AF_UNIX stream socket, the connection on 6 and 7, then
// chain.
#include "applet.hpp"
#include "chain.hpp"
#include "client.hpp"
#include "diagnostics.hpp"
#include "fd.hpp"
#include "socket.hpp"

#include <cerrno>
#include <string>
#include <sys/socket.h>

namespace toolkit::applets {

namespace {

// UCSPI-UNIX variables that describe some other connection (an outer
// server's, say) and that this one does not give: left set, they would lie.
constexpr const char* foreign_variables[] = {"UNIXLOCALPATH", "UNIXLOCALPID", "UNIXLOCALUID",
                                             "UNIXLOCALGID", "UNIXREMOTEGIDLIST"};

class LocalConnect : public Step {
  public:
    LocalConnect(std::string name, LocalAddress address)
        : name_(std::move(name)), address_(address) {}

    void run(Chain& chain) override {
        UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("socket", errno);
        int rc;
        do
            rc = ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address_.address),
                           address_.length);
        while (rc < 0 && errno == EINTR);
        if (rc < 0) throw system_error(name_, errno);
        // Who the server is: the credentials of the process that called listen(2).
        ucred server{};
        socklen_t length = sizeof server;
        if (::getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &server, &length) < 0)
            throw system_error("SO_PEERCRED", errno);
        hand_over_connection(std::move(socket));

        PendingEnvironment& environment = chain.environment;
        environment.set("PROTO", "UNIX");
        environment.set("UNIXREMOTEPATH",
                        describe_local_address(address_.address, address_.length));
        environment.set("UNIXREMOTEPID", std::to_string(server.pid));
        environment.set("UNIXREMOTEEUID", std::to_string(server.uid));
        environment.set("UNIXREMOTEEGID", std::to_string(server.gid));
        for (const char* name : foreign_variables)
            environment.unset(name);
    }

  private:
    std::string name_; // PATH as given, for messages
    LocalAddress address_;
};

std::unique_ptr<Step> plan(Invocation& invocation) {
    std::string name(invocation.operand("PATH"));
    LocalAddress address = make_local_address("PATH", name);
    invocation.next_program();
    return std::make_unique<LocalConnect>(std::move(name), address);
}

} // namespace

extern const AppletInfo local_stream_socket_connect{
    {"local-stream-socket-connect",
     "PATH NEXT-PROG [ARGS...]",
     "Connect to the AF_UNIX stream socket PATH (@NAME: abstract), then run NEXT-PROG with the "
     "connection on descriptors 6 (read) and 7 (write).",
     {},
     "lstream-connect"},
    plan,
};

} // namespace toolkit::applets
