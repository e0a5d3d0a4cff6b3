#define BOOST_TEST_MODULE fd
#include <boost/test/unit_test.hpp>

#include "diagnostics.hpp"
#include "fd.hpp"

#include "support.hpp"
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

bool close_on_exec(int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

// A descriptor number that is certainly closed now.
int closed_fd(int wanted) {
    ::close(wanted);
    return wanted;
}

// Whether a byte written to W comes out of R.
bool connected(int w, int r) {
    char out = 'x', in = 0;
    return ::write(w, &out, 1) == 1 && ::read(r, &in, 1) == 1 && in == 'x';
}

struct Pipe {
    Pipe() { BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
    ~Pipe() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    int fds[2];
};

} // namespace

BOOST_AUTO_TEST_CASE(unique_fd_owns_and_closes) {
    int raw;
    {
        UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        BOOST_TEST_REQUIRE(static_cast<bool>(fd));
        raw = fd.get();
        BOOST_TEST(fd_is_open(raw));
    }
    BOOST_TEST(!fd_is_open(raw));

    UniqueFd empty;
    BOOST_TEST(!empty);
    BOOST_TEST(empty.get() == -1);
    UniqueFd negative(-1);
    BOOST_TEST(!negative);
}

BOOST_AUTO_TEST_CASE(unique_fd_release_and_reset) {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw = fd.release();
    BOOST_TEST(!fd);
    BOOST_TEST(fd_is_open(raw)); // released: not ours to close any more
    fd.reset(raw);
    BOOST_TEST(fd.get() == raw);
    int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    fd.reset(other);
    BOOST_TEST(!fd_is_open(raw));
    BOOST_TEST(fd_is_open(other));
    fd.reset();
    BOOST_TEST(!fd_is_open(other));
    BOOST_TEST(!fd);
}

BOOST_AUTO_TEST_CASE(unique_fd_moves) {
    UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw_a = a.get();
    UniqueFd b(std::move(a));
    BOOST_TEST(!a);
    BOOST_TEST(b.get() == raw_a);

    UniqueFd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw_c = c.get();
    c = std::move(b); // c's own descriptor is closed
    BOOST_TEST(c.get() == raw_a);
    BOOST_TEST(!b);
    BOOST_TEST(!fd_is_open(raw_c));
    BOOST_TEST(fd_is_open(raw_a));
}

BOOST_AUTO_TEST_CASE(fd_is_open_tells_open_from_closed) {
    BOOST_TEST(fd_is_open(STDIN_FILENO) == (::fcntl(STDIN_FILENO, F_GETFD) >= 0));
    Pipe p;
    BOOST_TEST(fd_is_open(p.fds[0]));
    BOOST_TEST(fd_is_open(p.fds[1]));
    BOOST_TEST(!fd_is_open(closed_fd(150)));
    BOOST_TEST(!fd_is_open(-1));
}

BOOST_AUTO_TEST_CASE(move_closes_from_and_clears_close_on_exec) {
    Pipe p;
    int to = closed_fd(100);
    BOOST_TEST_REQUIRE(close_on_exec(p.fds[1]));
    int from = ::dup3(p.fds[1], 101, O_CLOEXEC);
    BOOST_TEST_REQUIRE(from == 101);
    fd_move(to, from);
    BOOST_TEST(fd_is_open(to));
    BOOST_TEST(!fd_is_open(from));
    BOOST_TEST(!close_on_exec(to));
    BOOST_TEST(connected(to, p.fds[0]));
    ::close(to);
}

BOOST_AUTO_TEST_CASE(move_replaces_an_open_destination) {
    Pipe p;
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int to = ::dup3(null.get(), 102, O_CLOEXEC);
    BOOST_TEST_REQUIRE(to == 102);
    int from = ::dup3(p.fds[1], 103, O_CLOEXEC);
    fd_move(to, from);
    BOOST_TEST(!fd_is_open(from));
    BOOST_TEST(!close_on_exec(to));
    BOOST_TEST(connected(to, p.fds[0])); // no longer /dev/null
    ::close(to);
}

BOOST_AUTO_TEST_CASE(copy_keeps_from_as_it_was) {
    Pipe p;
    int to = closed_fd(104);
    int from = ::dup3(p.fds[1], 105, O_CLOEXEC);
    fd_move(to, from, true);
    BOOST_TEST(fd_is_open(to));
    BOOST_TEST(fd_is_open(from));
    BOOST_TEST(!close_on_exec(to));
    BOOST_TEST(close_on_exec(from));
    BOOST_TEST(connected(to, p.fds[0]));
    BOOST_TEST(connected(from, p.fds[0]));
    ::close(to);
    ::close(from);
}

BOOST_AUTO_TEST_CASE(same_descriptor_stays_open_and_becomes_inheritable) {
    for (bool copy : {false, true}) {
        BOOST_TEST_CONTEXT("copy " << copy) {
            Pipe p;
            int fd = ::dup3(p.fds[1], 106, O_CLOEXEC);
            BOOST_TEST_REQUIRE(close_on_exec(fd));
            fd_move(fd, fd, copy);
            BOOST_TEST(fd_is_open(fd));
            BOOST_TEST(!close_on_exec(fd));
            BOOST_TEST(connected(fd, p.fds[0]));
            ::close(fd);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_closed_from_is_named_and_to_is_untouched) {
    Pipe p;
    int to = ::dup3(p.fds[1], 107, O_CLOEXEC);
    int from = closed_fd(108);
    for (bool copy : {false, true}) {
        Failure failure = failure_of([&] { fd_move(to, from, copy); });
        BOOST_TEST(failure.status() == exit_failure);
        BOOST_TEST(failure.subject() == "descriptor 108");
        BOOST_TEST(failure.detail() == std::strerror(EBADF));
        BOOST_TEST(fd_is_open(to));
        BOOST_TEST(close_on_exec(to)); // not even its flag changed
        BOOST_TEST(connected(to, p.fds[0]));
    }
    ::close(to);

    int same = closed_fd(109);
    Failure failure = failure_of([&] { fd_move(same, same); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "descriptor 109");
}

BOOST_AUTO_TEST_CASE(an_impossible_destination_is_named) {
    Pipe p;
    int from = ::dup3(p.fds[1], 110, O_CLOEXEC);
    Failure failure = failure_of([&] { fd_move(-1, from); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "descriptor -1");
    BOOST_TEST(fd_is_open(from)); // a failed move loses nothing
    ::close(from);
}

BOOST_AUTO_TEST_CASE(set_close_on_exec_both_ways) {
    Pipe p;
    set_close_on_exec(p.fds[0], false);
    BOOST_TEST(!close_on_exec(p.fds[0]));
    set_close_on_exec(p.fds[0], false);
    BOOST_TEST(!close_on_exec(p.fds[0]));
    set_close_on_exec(p.fds[0], true);
    BOOST_TEST(close_on_exec(p.fds[0]));
    Failure failure = failure_of([] { set_close_on_exec(closed_fd(111), true); });
    BOOST_TEST(failure.status() == exit_failure);
    BOOST_TEST(failure.subject() == "descriptor 111");
}

BOOST_AUTO_TEST_CASE(file_kind_names_what_fstat_sees) {
    struct stat st;
    BOOST_TEST_REQUIRE(::stat("/", &st) == 0);
    BOOST_TEST(file_kind(st.st_mode) == "a directory");
    BOOST_TEST_REQUIRE(::stat("/dev/null", &st) == 0);
    BOOST_TEST(file_kind(st.st_mode) == "a character device");
    Pipe p;
    BOOST_TEST_REQUIRE(::fstat(p.fds[0], &st) == 0);
    BOOST_TEST(file_kind(st.st_mode) == "a FIFO (pipe)");
    int sv[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    BOOST_TEST_REQUIRE(::fstat(sv[0], &st) == 0);
    BOOST_TEST(file_kind(st.st_mode) == "a socket");
    ::close(sv[0]);
    ::close(sv[1]);
    BOOST_TEST(file_kind(S_IFREG | 0644) == "a regular file");
    BOOST_TEST(file_kind(S_IFLNK | 0777) == "a symbolic link");
    BOOST_TEST(file_kind(S_IFBLK | 0600) == "a block device");
    BOOST_TEST(file_kind(0) == "a file of an unknown kind");
}

BOOST_AUTO_TEST_CASE(path_of_a_descriptor_leads_back_to_its_file) {
    TempDir dir;
    std::string sub = dir.path + "/sub";
    BOOST_TEST_REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    UniqueFd held(::open(sub.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    BOOST_TEST_REQUIRE(held.get() >= 0);
    char real[PATH_MAX];
    BOOST_TEST_REQUIRE(::realpath(sub.c_str(), real) != nullptr);
    BOOST_TEST(path_of(held.get()) == std::string(real));
    // Gone from where it was ("... (deleted)"): no name leads back to it.
    BOOST_TEST_REQUIRE(::rmdir(sub.c_str()) == 0);
    BOOST_TEST(path_of(held.get()).empty());
    // Another directory in its place: the name leads elsewhere, so none either.
    BOOST_TEST_REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    BOOST_TEST(path_of(held.get()).empty());
    BOOST_TEST(path_of(-1).empty());
}
