// The accept loop every accept applet shares; a family part (UNIX, TCP, ...) knows only addresses
// and variables.
#pragma once

#include "options.hpp"
#include "spawn.hpp"

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace toolkit {

class Chain;

struct ServerSettings {
    int limit = 40;           // -c: live children at most
    int per_source_limit = 0; // -C: live children per source at most; 0: no such limit
    bool verbose = false;     // -v: a line per child started and ended
    bool quiet = false;       // -q: no ERROR line per refused connection
};

// The options every accept applet has, as its table lists them: -c, -v, -q,
// and -C under PER_SOURCE_OPTION (its long name).
ServerSettings read_server_settings(const ParsedOptions& given, std::string_view per_source_option);

// Who is on the other end, as far as -C counts: equal keys share one limit.
struct SourceKey {
    std::array<unsigned char, 16> bytes{};
    unsigned char prefix = 0; // how many leading bits of BYTES count (for messages)
    bool operator==(const SourceKey&) const = default;
};

// What the family part found out about one connection.
struct Connection {
    ConnectionVariables variables; // the child's own UCSPI variables
    SourceKey source;
    std::string log; // with -v: the fields after the PID of the connection's log line
};

// The part of an accept applet that knows one kind of socket.
class Family {
  public:
    virtual ~Family() = default;

    // What every listener must be: socket type, and which address families.
    virtual int socket_type() const = 0;
    virtual bool takes_domain(int domain) const = 0;
    // For messages: "a local (AF_UNIX) socket", "a stream socket".
    virtual std::string_view domain_name() const = 0;
    virtual std::string_view type_name() const = 0;

    // PROTO, and every variable of the family's protocol the child must not
    // inherit from outside: those set per connection, and those it never sets.
    virtual std::string_view proto() const = 0;
    virtual std::span<const char* const> variables() const = 0;

    // Once per listener, in order, after it was checked.
    virtual void add_listener(int fd) = 0;
    // Per connection, accepted on listener INDEX from PEER: fill CONNECTION
    // (its log fields only when VERBOSE). False when the connection cannot
    // be described (an ERROR line was written): it is closed.
    virtual bool describe(std::size_t index, int fd, const sockaddr_storage& peer, socklen_t length,
                          bool verbose, Connection& connection) = 0;
    // How a refusal by -C names the source ("uid 1000"), and what the limit
    // is counted per ("per uid").
    virtual std::string source_name(const Connection& connection) const = 0;
    virtual std::string_view per_source() const = 0;
};

// Take the listeners (fd 3, or LISTEN_FDS of them) and serve them forever:
// one child per connection running the rest of the chain.
[[noreturn]] void serve(Chain& chain, const ServerSettings& settings, Family& family);

// A client-chosen name as one field of a log line: every byte outside
// '!'..'~', and the backslash, is escaped (\n, \t, \r, \\, else \xHH), so a
// name cannot forge a line or shift the fields. Empty is "-"; "-" is \x2d.
std::string log_field(std::string_view name);

} // namespace toolkit
