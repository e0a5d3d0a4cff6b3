"""End-to-end tests of local-datagram-socket-listen: a real consumer written
against libsystemd receives what socat sends; the node rules it shares with
local-stream-socket-listen, seen with datagram sockets; a chain that mixes
every kind of listen applet in one LISTEN_FDS set."""

import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, TOOLKIT, USAGE, ReadinessTestCase, ToolkitTestCase,
                     applet_link, children, main, probe, run, stopped_by_strace, which)

APPLET = "local-datagram-socket-listen"
WAIT_LIMIT = 20  # seconds any bounded wait may take

# A daemon written against libsystemd: what it is given, and with "recv", one
# datagram read from the first descriptor.
CONSUMER = textwrap.dedent(r"""
    #include <stdio.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <systemd/sd-daemon.h>

    static const char* kind(int fd) {
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) return "unix-stream-listening";
        if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) > 0) return "unix-seqpacket-listening";
        if (sd_is_socket(fd, AF_UNIX, SOCK_DGRAM, -1) > 0) return "unix-datagram";
        if (sd_is_socket_inet(fd, AF_INET, SOCK_STREAM, 1, 0) > 0) return "inet-stream-listening";
        if (sd_is_socket_inet(fd, AF_INET6, SOCK_DGRAM, -1, 0) > 0) return "inet6-datagram";
        return "something-else";
    }

    int main(int argc, char** argv) {
        char** names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) {
            printf("error %s\n", strerror(-n));
            return 1;
        }
        printf("count %d\n", n);
        for (int i = 0; i < n; ++i)
            printf("fd %d %s %s\n", SD_LISTEN_FDS_START + i, names ? names[i] : "(none)",
                   kind(SD_LISTEN_FDS_START + i));
        if (argc > 1 && strcmp(argv[1], "recv") == 0) {
            char buffer[4096];
            ssize_t got = recv(SD_LISTEN_FDS_START, buffer, sizeof buffer, 0);
            if (got < 0) {
                perror("recv");
                return 1;
            }
            printf("datagram %zd [%.*s]\n", got, (int)got, buffer);
        }
        return 0;
    }
""")

DESCRIBE_FD3 = textwrap.dedent("""
    import fcntl, socket
    s = socket.socket(fileno=3)
    print(s.family.name, s.type.name, s.getsockname())
    print("listening", s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    print("blocking", s.getblocking())
    print("cloexec", bool(fcntl.fcntl(3, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    print("passcred", s.getsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED))
    s.detach()
""")


class DatagramTestCase(ToolkitTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-datagram-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name="socket"):
        return os.path.join(self.dir, name)

    def fresh(self, form):
        path = self.path(form)
        if os.path.lexists(path):
            os.unlink(path)
        return path

    def assertNoFile(self, path):
        self.assertFalse(os.path.lexists(path), f"{path} was left behind")

    def consumer(self):
        """The libsystemd program, compiled here (skipped without cc or libsystemd-dev)."""
        which("cc")
        which("pkg-config")
        flags = run(["pkg-config", "--cflags", "--libs", "libsystemd"])
        if flags.returncode != 0:
            self.skipTest("libsystemd-dev is not installed (pkg-config libsystemd failed)")
        source, binary = self.path("consumer.c"), self.path("consumer")
        with open(source, "w") as f:
            f.write(CONSUMER)
        built = run(["cc", "-Wall", "-o", binary, source] + flags.stdout.split())
        self.assertEqual(built.returncode, 0, built.stderr)
        return binary

    def start(self, argv):
        """Start the chain ARGV; it is killed at the end of the test if still running."""
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)

        def stop():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=WAIT_LIMIT)
        self.addCleanup(stop)
        return process

    def wait_for_node(self, path, process):
        deadline = time.monotonic() + WAIT_LIMIT
        while not os.path.exists(path):
            if process.poll() is not None:
                self.fail(f"the chain ended: {process.communicate()}")
            self.assertLess(time.monotonic(), deadline, "the socket file never appeared")
            time.sleep(0.02)


class Consumer(DatagramTestCase):
    """socat sends; a daemon written against libsystemd receives."""

    def test_a_libsystemd_daemon_receives_what_socat_sends(self):
        socat = which("socat")
        consumer = self.consumer()
        for form in ("symlink", "multicall"):
            with self.subTest(form=form):
                path = self.path(form)
                prefix = [applet_link(APPLET)] if form == "symlink" else [TOOLKIT, APPLET]
                process = self.start(prefix + ["--systemd-compatibility", "--name", "log", path,
                                               consumer, "recv"])
                self.wait_for_node(path, process)
                self.assertClean(run([socat, "-", f"UNIX-SENDTO:{path}"], input="hello"))
                out, err = process.communicate(timeout=WAIT_LIMIT)
                self.assertEqual((process.returncode, err), (0, ""))
                self.assertEqual(out, "count 1\nfd 3 log unix-datagram\ndatagram 5 [hello]\n")

    def test_datagrams_keep_their_boundaries(self):
        code = "import socket\ns = socket.socket(fileno=3)\nfor _ in range(3): print(s.recv(65536))"
        path = self.path()
        process = self.start([applet_link(APPLET), path] + probe(code))
        self.wait_for_node(path, process)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            for message in (b"a", b"b" * 3000, b"ccc"):
                sender.sendto(message, path)
        out, err = process.communicate(timeout=WAIT_LIMIT)
        self.assertEqual(out, f"b'a'\nb'{'b' * 3000}'\nb'ccc'\n")

    def test_an_abstract_name(self):
        socat = which("socat")
        name = f"toolkit-datagram-{os.getpid()}"
        code = "import socket\ns = socket.socket(fileno=3)\nprint(s.getsockname(), s.recv(100))"
        process = self.start([applet_link(APPLET), "@" + name] + probe(code))
        # No file to wait for: the datagram is sent once the name is bound.
        deadline = time.monotonic() + WAIT_LIMIT
        while run([socat, "-", f"ABSTRACT-SENDTO:{name}"], input="abstract").returncode != 0:
            self.assertIsNone(process.poll(), "the chain ended before binding")
            self.assertLess(time.monotonic(), deadline, "the abstract name never took a datagram")
            time.sleep(0.05)
        out, _ = process.communicate(timeout=WAIT_LIMIT)
        self.assertEqual(out, repr(b"\0" + name.encode()) + " b'abstract'\n")
        self.assertEqual(os.listdir(self.dir), [])

    def test_the_socket_on_fd3(self):
        self.case(APPLET, lambda form: ["--pass-credentials", self.fresh(form)] + probe(DESCRIBE_FD3),
                  then=lambda result, form: self.assertEqual(
                      result.stdout, f"AF_UNIX SOCK_DGRAM {self.path(form)}\nlistening 0\n"
                                     "blocking True\ncloexec False\npasscred 1\n"))


class MixedChain(DatagramTestCase):
    """Every kind of listen applet in one chain: one consistent LISTEN_FDS set."""

    def test_stream_datagram_seqpacket_tcp_and_udp_in_one_set(self):
        consumer = self.consumer()
        s, d, q = self.path("s"), self.path("d"), self.path("q")
        chain = [applet_link("local-stream-socket-listen"), "--systemd-compatibility", "--name", "s", s,
                 APPLET, "--systemd-compatibility", "--name", "d", d,
                 "local-seqpacket-socket-listen", "--systemd-compatibility", "--name", "q", q,
                 "tcp-socket-listen", "--systemd-compatibility", "--name", "t", "127.0.0.1", "0",
                 "udp-socket-listen", "--systemd-compatibility", "--name", "u", "::1", "0",
                 consumer]
        result = run(chain)
        self.assertClean(result, "count 5\nfd 3 s unix-stream-listening\nfd 4 d unix-datagram\n"
                                 "fd 5 q unix-seqpacket-listening\nfd 6 t inet-stream-listening\n"
                                 "fd 7 u inet6-datagram\n")

    def test_names_unknown_where_none_is_given(self):
        consumer = self.consumer()
        result = run([applet_link(APPLET), "--systemd-compatibility", self.path("d"),
                      "local-seqpacket-socket-listen", "--systemd-compatibility", "--name", "q",
                      self.path("q"), consumer])
        self.assertClean(result, "count 2\nfd 3 unknown unix-datagram\nfd 4 q unix-seqpacket-listening\n")


class Node(DatagramTestCase):
    """The rules of the socket file (local-stream-socket-listen(1), SECURITY)."""

    def test_mode_is_set_at_birth(self):
        strace = which("strace")
        path = self.path()
        result = run(["sh", "-c", 'umask 077; exec "$@"', "sh", strace, "-qq", "-e", "signal=none",
                      "-e", "trace=umask,/chmod", applet_link(APPLET),
                      "--mode", "0620", path, "sh", "-c", "umask"])
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "0077\n")
        self.assertNotIn("chmod", result.stderr, "the mode was changed after birth")
        self.assertIn("umask(0157)", result.stderr)
        self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o620)

    def test_mode_follows_the_umask_without_the_option(self):
        self.case(APPLET, lambda form: [self.fresh(form), "true"], wrap=lambda argv: ["sh", "-c", 'umask 027; exec "$@"', "sh"] + argv,
                  then=lambda result, form: self.assertEqual(
                      stat.S_IMODE(os.lstat(self.path(form)).st_mode), 0o750))

    def test_a_decimal_mode_warns_and_is_taken_as_written(self):
        self.case(APPLET, lambda form: ["--mode", "660", self.fresh(form), "true"],
                  stderr=f"{APPLET}: WARNING: --mode: 660 is decimal (01224 in octal); "
                         "write 0660 if octal was meant\n",
                  then=lambda result, form: self.assertEqual(
                      stat.S_IMODE(os.lstat(self.path(form)).st_mode), 0o1224))

    def test_owner_and_group(self):
        if os.geteuid() != 0:
            self.skipTest("changing the owner of a file needs root")
        try:
            user, group = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
        except KeyError:
            self.skipTest("no account nobody or no group nogroup")

        def owner_is(uid, gid):
            return lambda result, form: self.assertEqual(
                (os.lstat(self.path(form)).st_uid, os.lstat(self.path(form)).st_gid), (uid, gid))
        self.case(APPLET, lambda form: ["--user", "nobody", "--group", "nogroup", "-m", "0620",
                                        self.fresh(form), "true"],
                  then=owner_is(user.pw_uid, group.gr_gid))
        self.case(APPLET, lambda form: ["-u", "12345", self.fresh(form), "true"],
                  then=owner_is(12345, os.getegid()))

    def end_tracer(self, tracer):
        """strace and the listener it may have left stopped."""
        if tracer.poll() is None:
            for pid, _ in children(tracer.pid):
                os.kill(pid, signal.SIGKILL)
            tracer.kill()
            tracer.communicate(timeout=WAIT_LIMIT)

    def test_nothing_sent_before_the_owner_is_final_is_delivered(self):
        """A datagram socket receives from bind(2) on: the listener is stopped
        at its change of owner (strace injects SIGSTOP there), a datagram is
        sent meanwhile, and the next program must not get it."""
        if os.geteuid() != 0:
            self.skipTest("changing the owner of a file needs root")
        strace = which("strace")
        path = self.path()
        code = ("import socket\ns = socket.socket(fileno=3)\ns.setblocking(False)\n"
                "try:\n    print(s.recv(100))\nexcept BlockingIOError:\n    print('empty')")
        trace = os.path.join(self.dir, "trace")
        tracer = subprocess.Popen([strace, "-f", "-qq", "-e", "signal=SIGSTOP", "-o", trace,
                                   "-e", "trace=fchownat", "-e", "inject=fchownat:signal=SIGSTOP:when=1",
                                   applet_link(APPLET), "-u", "12345", "-m", "0620", path] + probe(code),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.end_tracer, tracer)
        stopped = stopped_by_strace(tracer, trace)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"too early", path)  # root may send whatever the mode
        os.kill(stopped, signal.SIGCONT)
        out, err = tracer.communicate(timeout=WAIT_LIMIT)
        self.assertEqual((tracer.returncode, out), (0, "empty\n"), err)
        self.assertEqual(os.lstat(path).st_uid, 12345)

    def test_a_stale_node_is_removed(self):
        # The file at PATH is then the new socket's: a datagram sent to PATH reaches fd 3.
        code = ("import socket, sys\ns = socket.socket(fileno=3)\n"
                "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'mine', sys.argv[1])\n"
                "print(s.recv(100))")

        def stale(form):
            path = self.fresh(form)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old:
                old.bind(path)  # closed at once: the file stays, nobody is bound to it
            return [path] + probe(code) + [path]
        self.case(APPLET, stale, stdout="b'mine'\n")

    def check_left_alone(self):
        """The live socket bound at PATH keeps its node."""
        path = self.path()
        before = os.lstat(path).st_ino
        self.case(APPLET, [path, "true"], status=FAILURE, fatal=(path, "in use by a running server"))
        self.assertEqual(os.lstat(path).st_ino, before)

    def test_a_bound_datagram_socket_is_in_use(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as live:
            live.bind(path)
            self.check_left_alone()
            live.setblocking(False)
            with self.assertRaises(BlockingIOError, msg="the probe sent something"):
                live.recv(100)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                sender.sendto(b"still here", path)
            self.assertEqual(live.recv(100), b"still here")

    def test_a_datagram_socket_connected_elsewhere_is_in_use(self):
        # It refuses datagrams from anyone but its peer, and is alive all the same.
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as peer, \
                socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as live:
            peer.bind(self.path("peer"))
            live.bind(path)
            live.connect(self.path("peer"))
            self.check_left_alone()

    def test_a_stream_server_is_in_use(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)
            self.check_left_alone()

    def test_a_regular_file_is_left_alone(self):
        path = self.path()
        with open(path, "w") as f:
            f.write("data\n")
        before = os.lstat(path)
        self.case(APPLET, ["--mode", "0666", path, "true"], status=FAILURE,
                  fatal=(path, "regular file", "left alone"))
        after = os.lstat(path)
        self.assertEqual((after.st_ino, after.st_mode, after.st_mtime_ns),
                         (before.st_ino, before.st_mode, before.st_mtime_ns))

    def test_a_symbolic_link_is_left_alone(self):
        victim = self.path("victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        path = self.path()
        os.symlink(victim, path)
        self.case(APPLET, ["--mode", "0666", path, "true"], status=FAILURE,
                  fatal=(path, "symbolic link"))
        self.assertEqual(os.readlink(path), victim)
        self.assertEqual(stat.S_IMODE(os.lstat(victim).st_mode), 0o644 & ~self.umask())

    @staticmethod
    def umask():
        mask = os.umask(0)
        os.umask(mask)
        return mask

    def test_abstract_names_refuse_file_options(self):
        for option in (["--mode", "0600"], ["-u", "1"], ["--group", "root"]):
            with self.subTest(option=option):
                self.case(APPLET, option + ["@toolkit-datagram", "true"], status=USAGE,
                          fatal=(option[0], "abstract"))

    # --- nothing left behind ----------------------------------------------------

    def test_a_later_link_failing_removes_the_node(self):
        path = self.path()
        self.case(APPLET, [path, "fdmove", "5", "9", "true"], status=FAILURE,
                  stderr="fdmove: FATAL: descriptor 9: Bad file descriptor\n")
        self.assertNoFile(path)

    def test_the_chain_is_planned_before_the_node_exists(self):
        path = self.path()
        self.case(APPLET, [path, "fdmove", "x", "3", "true"], status=USAGE,
                  stderr="fdmove: FATAL: TO: not a number: x\n")
        self.assertNoFile(path)
        self.case(APPLET, [path, "local-seqpacket-socket-listen", "--backlog", "x", self.path("q"), "true"],
                  status=USAGE, stderr="local-seqpacket-socket-listen: FATAL: --backlog: not a number: x\n")
        self.assertEqual(os.listdir(self.dir), [])
        # (" in /etc/passwd" follows in the static build)
        self.case(APPLET, [path, "setuidgid", "no-such-user-xyz", "true"], status=FAILURE,
                  then=lambda result, form: self.assertRegex(
                      result.stderr, r"^setuidgid: FATAL: no-such-user-xyz: no such account[^\n]*\n\Z"))
        self.assertNoFile(path)

    def test_a_stale_node_stays_when_the_chain_fails_before_acting(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old:
            old.bind(path)
        before = os.lstat(path).st_ino
        self.case(APPLET, [path, "no-such-program-xyz"], status=NOT_FOUND, fatal="no-such-program-xyz")
        self.assertEqual(os.lstat(path).st_ino, before)


class ExitStatus(DatagramTestCase):

    def test_help(self):
        result = self.case(APPLET, ["--help"])[0]
        self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] PATH NEXT-PROG"))
        self.assertNotIn("--backlog", result.stdout)
        self.assertIn("Process name while it runs: ldgram-listen", result.stdout)

    def test_usage_errors_leave_nothing(self):
        for args, culprit in ((["--backlog", "5", "p", "true"], "--backlog"),
                              (["-b5", "p", "true"], "-b"),
                              (["--mode", "010000", "p", "true"], "--mode"),
                              (["--gid", "1", "--group", "root", "p", "true"], "--group"),
                              (["--name", "d", "p", "true"], "--name"),
                              (["--systemd-compatibility", "--name", "a:b", "p", "true"], "--name"),
                              ([], "PATH"), (["p"], "NEXT-PROG"), (["sub/", "true"], "file name"),
                              (["/" + "x" * 107, "true"], "limit is 107")):
            with self.subTest(args=args):
                self.case(APPLET, args, status=USAGE, fatal=culprit, cwd=self.dir)
                self.assertEqual(os.listdir(self.dir), [])

    def test_unknown_account_is_111_before_the_node(self):
        self.case(APPLET, ["--group", "no-such-group-xyz", self.path(), "true"], status=FAILURE,
                  fatal="no-such-group-xyz")
        self.assertEqual(os.listdir(self.dir), [])

    def test_bind_failure_is_111(self):
        missing = self.path("no-such-dir/socket")
        self.case(APPLET, [missing, "true"], status=FAILURE, fatal=(missing, "No such file or directory"))

    def test_cannot_run_removes_the_node(self):
        path = self.path()
        self.case(APPLET, [path, self.dir], status=CANNOT_RUN, fatal=self.dir)
        self.assertNoFile(path)

    def test_not_found(self):
        self.case(APPLET, [self.path(), "/nonexistent/prog"], status=NOT_FOUND, fatal="/nonexistent/prog")
        self.assertEqual(os.listdir(self.dir), [])

    def test_process_name(self):
        strace = which("strace")
        result = run([strace, "-qq", "-e", "trace=prctl", "-e", "signal=none", applet_link(APPLET),
                      self.path(), "true"])
        self.assertExit(result, 0)
        self.assertIn('prctl(PR_SET_NAME, "ldgram-listen")', result.stderr)


class Readiness(ReadinessTestCase):
    """--notify-fd and --sd-notify: the supervisor is told once, and the socket
    is bound by then: a datagram sent at that moment, while the end of the
    chain waits, is the one it then receives."""

    def bound(self, path):
        def check(process):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                sender.sendto(b"early", path)
        return check

    def test_notify_fd_gets_one_newline_and_is_not_passed_on(self):
        sock = self.path("d")
        out = self.ready_by_notify_fd([applet_link(APPLET), "--notify-fd", "5", sock], self.bound(sock), recv=True)
        self.assertEqual(out, "fd 5 closed\ndatagram b'early'\n")

    def test_sd_notify_sends_one_ready_from_the_process(self):
        sock = self.path("d")
        out = self.ready_by_sd_notify([applet_link(APPLET), "--sd-notify", sock], self.bound(sock), recv=True)
        self.assertEqual(out, "fd 5 closed\ndatagram b'early'\n")

if __name__ == "__main__":
    main()
