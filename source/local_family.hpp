// The UNIX part of the accept loop (listener names, client credentials) and the local accept
// applets' plan.
#pragma once

#include "applet.hpp"
#include "server.hpp"

#include <memory>
#include <span>

#include <optional>
#include <string>
#include <vector>

namespace toolkit {

// PROTO=UNIX: UNIXLOCALPATH, UNIXREMOTEPATH and the client's credentials;
// -C counts per client euid.
class LocalFamily : public Family {
  public:
    // TYPE: SOCK_STREAM or SOCK_SEQPACKET. LOCALNAME: UNIXLOCALPATH for
    // every listener instead of its own name.
    LocalFamily(int type, std::optional<std::string> localname);

    int socket_type() const override { return type_; }
    bool takes_domain(int domain) const override;
    std::string_view domain_name() const override { return "a local (AF_UNIX) socket"; }
    std::string_view type_name() const override;
    std::string_view proto() const override { return "UNIX"; }
    std::span<const char* const> variables() const override;

    void add_listener(int fd) override;
    bool describe(std::size_t index, int fd, const sockaddr_storage& peer, socklen_t length,
                  bool verbose, Connection& connection) override;
    std::string source_name(const Connection& connection) const override;
    std::string_view per_source() const override { return "per uid"; }

  private:
    int type_;
    std::optional<std::string> localname_;
    std::vector<std::string> names_; // UNIXLOCALPATH of each listener
};

// The options of the local accept applets, and their plan: serve the local
// listening sockets of TYPE from descriptor 3 on, one child per connection.
std::span<const OptionSpec> local_accept_options();
std::unique_ptr<Step> plan_local_accept(Invocation& invocation, int type);

} // namespace toolkit
