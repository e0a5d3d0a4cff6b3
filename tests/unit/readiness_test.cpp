#define BOOST_TEST_MODULE readiness
#include <boost/test/unit_test.hpp>

#include "applet.hpp"
#include "fd.hpp"
#include "readiness.hpp"
#include "socket.hpp"
#include "support.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

const OptionSpec options[] = {TOOLKIT_READINESS_OPTIONS};
const CommandSyntax syntax{"test-listen", "NEXT-PROG", "test", options};

Readiness readiness_of(std::initializer_list<std::string> words) {
    Args args(words);
    Invocation invocation(syntax, args.span());
    return read_readiness(invocation.options());
}

} // namespace

BOOST_AUTO_TEST_CASE(options_are_read) {
    Readiness none = readiness_of({"test-listen", "prog"});
    BOOST_TEST(!none.wanted());
    Readiness both = readiness_of({"test-listen", "--notify-fd", "7", "--sd-notify", "prog"});
    BOOST_TEST(both.wanted());
    BOOST_TEST(both.notify_fd.value_or(-1) == 7);
    BOOST_TEST(both.sd_notify);
}

BOOST_AUTO_TEST_CASE(what_is_needed_is_checked_first) {
    PendingEnvironment empty(nullptr);
    Readiness closed;
    closed.notify_fd = 999;
    Failure failure = failure_of([&] { check_readiness(closed, empty); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "--notify-fd");
    BOOST_TEST(failure.detail() == "descriptor 999 is not open");

    Readiness systemd;
    systemd.sd_notify = true;
    Failure unset = failure_of([&] { check_readiness(systemd, empty); });
    BOOST_TEST(unset.detail() == "NOTIFY_SOCKET is not set");

    // Empty or not an address: the supervisor's mistake, 111, naming the option.
    for (const std::string& value : {std::string(), std::string("@"), std::string(200, 'x')}) {
        BOOST_TEST_CONTEXT("NOTIFY_SOCKET='" << value << "'") {
            std::string entry = "NOTIFY_SOCKET=" + value;
            char* entries[] = {entry.data(), nullptr};
            PendingEnvironment environment(entries);
            Failure bad = failure_of([&] { check_readiness(systemd, environment); });
            BOOST_TEST(bad.status() == exit_failure);
            BOOST_TEST(bad.subject() == "--sd-notify");
            BOOST_TEST(bad.detail().starts_with("NOTIFY_SOCKET: "));
        }
    }
}

BOOST_AUTO_TEST_CASE(one_newline_then_the_descriptor_is_closed) {
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    Readiness readiness;
    readiness.notify_fd = pipe_fds[1];
    PendingEnvironment empty(nullptr);
    check_readiness(readiness, empty);
    announce_readiness(readiness);
    BOOST_TEST(!fd_is_open(pipe_fds[1]));
    char buffer[8];
    BOOST_TEST(::read(pipe_fds[0], buffer, sizeof buffer) == 1);
    BOOST_TEST(buffer[0] == '\n');
    BOOST_TEST(::read(pipe_fds[0], buffer, sizeof buffer) == 0); // nobody else holds it
    ::close(pipe_fds[0]);
}

BOOST_AUTO_TEST_CASE(ready_goes_to_notify_socket_with_our_credentials) {
    TempDir dir;
    for (std::string name : {dir.path + "/notify", std::string("@toolkit-readiness-test-") +
                                                       std::to_string(::getpid())}) {
        UniqueFd receiver(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        int on = 1;
        BOOST_TEST_REQUIRE(::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) ==
                           0);
        LocalAddress address = make_local_address("test", name);
        BOOST_TEST_REQUIRE(::bind(receiver.get(),
                                  reinterpret_cast<const sockaddr*>(&address.address),
                                  address.length) == 0);
        std::string entry = "NOTIFY_SOCKET=" + name;
        char* entries[] = {entry.data(), nullptr};
        PendingEnvironment environment(entries);
        Readiness readiness;
        readiness.sd_notify = true;
        check_readiness(readiness, environment);
        announce_readiness(readiness);

        char data[64];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec part{data, sizeof data};
        msghdr message{};
        message.msg_iov = &part;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(receiver.get(), &message, MSG_DONTWAIT);
        BOOST_TEST_REQUIRE(n == 7);
        BOOST_TEST(std::string(data, 7) == "READY=1");
        cmsghdr* header = CMSG_FIRSTHDR(&message);
        BOOST_TEST_REQUIRE(header != nullptr);
        ucred sender;
        std::memcpy(&sender, CMSG_DATA(header), sizeof sender);
        BOOST_TEST(sender.pid == ::getpid());
        BOOST_TEST(::recv(receiver.get(), data, sizeof data, MSG_DONTWAIT) < 0,
                   "exactly one datagram");
    }
}

BOOST_AUTO_TEST_CASE(a_notify_socket_nobody_listens_on_is_an_error) {
    TempDir dir;
    std::string entry = "NOTIFY_SOCKET=" + dir.path + "/nobody";
    char* entries[] = {entry.data(), nullptr};
    PendingEnvironment environment(entries);
    Readiness readiness;
    readiness.sd_notify = true;
    check_readiness(readiness, environment); // a socket address, so far so good
    Failure failure = failure_of([&] { announce_readiness(readiness); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject().find("NOTIFY_SOCKET") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reader_that_went_away_is_an_error_not_a_signal) {
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    ::close(pipe_fds[0]);
    Readiness readiness;
    readiness.notify_fd = pipe_fds[1];
    PendingEnvironment empty(nullptr);
    // With SIGPIPE's default action, as a chain has it: without the hold, this test dies of it.
    struct sigaction default_action {
    }, old_action{};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, &old_action);
    Failure failure = failure_of([&] { announce_readiness(readiness); });
    ::sigaction(SIGPIPE, &old_action, nullptr);
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "--notify-fd " + descriptor_name(pipe_fds[1]));
    BOOST_TEST(failure.detail() == std::strerror(EPIPE));
    sigset_t blocked, pending;
    ::sigprocmask(SIG_BLOCK, nullptr, &blocked);
    ::sigpending(&pending);
    BOOST_TEST(!sigismember(&blocked, SIGPIPE), "the signal mask is given back");
    BOOST_TEST(!sigismember(&pending, SIGPIPE), "no SIGPIPE is left pending");
    ::close(pipe_fds[1]);
}
