"""End-to-end tests of local-seqpacket-socket-listen: the socket the end of the
chain inherits, real SOCK_SEQPACKET clients, the node rules it shares with
local-stream-socket-listen, and every exit status."""

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, USAGE, ReadinessTestCase, ToolkitTestCase, applet_link,
                     listening, main, probe, run, which)

APPLET = "local-seqpacket-socket-listen"

DESCRIBE_FD3 = textwrap.dedent("""
    import fcntl, os, socket
    s = socket.socket(fileno=3)
    print(s.family.name, s.type.name, s.getsockname())
    print("listening", s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    print("blocking", s.getblocking())
    print("cloexec", bool(fcntl.fcntl(3, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    s.detach()
""")

# Takes one connection on fd 3 and sends each message back with a prefix.
ECHO_SERVER = textwrap.dedent("""
    import socket
    s = socket.socket(fileno=3)
    print("ready", flush=True)
    connection, _ = s.accept()
    while message := connection.recv(65536):
        connection.send(b"echo:" + message)
""")


class ListenTest(ToolkitTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-seqpacket-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name="socket"):
        return os.path.join(self.dir, name)

    def assertNoFile(self, path):
        self.assertFalse(os.path.lexists(path), f"{path} was left behind")

    def fresh(self, form):
        """A path for FORM's run, nothing there yet."""
        path = self.path(form)
        if os.path.lexists(path):
            os.unlink(path)
        return path

    def test_a_listening_seqpacket_socket_on_fd3(self):
        self.case(APPLET, lambda form: [self.fresh(form)] + probe(DESCRIBE_FD3),
                  then=lambda result, form: self.assertEqual(
                      result.stdout, f"AF_UNIX SOCK_SEQPACKET {self.path(form)}\nlistening 1\n"
                                     "blocking True\ncloexec False\n"))

    def test_backlog_reaches_listen(self):
        which("ss")
        for args, backlog in (([], 5), (["--backlog", "17"], 17), (["-b0x20"], 32)):
            with self.subTest(args=args):
                path = self.fresh("backlog")
                result = run([applet_link(APPLET)] + args + [path, "ss", "-xlH", "src", path])
                self.assertClean(result)
                fields = result.stdout.split()
                self.assertEqual((fields[0], fields[3], fields[4]), ("u_seq", str(backlog), path))

    def test_messages_keep_their_boundaries(self):
        path = self.path()
        server = subprocess.Popen([applet_link(APPLET), path] + probe(ECHO_SERVER),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.communicate, timeout=20)
        self.assertEqual(server.stdout.readline(), "ready\n")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as client:
            client.settimeout(20)
            client.connect(path)
            sent = [b"one", b"x" * 3000, b"three!"]
            for message in sent:
                client.send(message)
            self.assertEqual([client.recv(65536) for _ in sent], [b"echo:" + m for m in sent])

    def test_mode_at_birth_and_owner(self):
        self.case(APPLET, lambda form: ["--mode", "0640", self.fresh(form), "true"],
                  then=lambda result, form: self.assertEqual(
                      stat.S_IMODE(os.lstat(self.path(form)).st_mode), 0o640))
        if os.geteuid() == 0:
            path = self.fresh("owned")
            self.assertClean(run([applet_link(APPLET), "-u", "12345", "-g", "23456", path, "true"]))
            self.assertEqual((os.lstat(path).st_uid, os.lstat(path).st_gid), (12345, 23456))

    def test_a_decimal_mode_warns_and_is_taken_as_written(self):
        self.case(APPLET, lambda form: ["--mode", "660", self.fresh(form), "true"],
                  stderr=f"{APPLET}: WARNING: --mode: 660 is decimal (01224 in octal); "
                         "write 0660 if octal was meant\n",
                  then=lambda result, form: self.assertEqual(
                      stat.S_IMODE(os.lstat(self.path(form)).st_mode), 0o1224))

    def test_abstract_socket(self):
        name = f"@toolkit-seqpacket-{os.getpid()}"
        self.case(APPLET, [name, "python3", "-c",
                           "import socket; print(socket.socket(fileno=3).getsockname())"],
                  stdout=repr(b"\0" + name[1:].encode()) + "\n")
        self.assertEqual(os.listdir(self.dir), [])
        self.case(APPLET, ["--mode", "0600", name, "true"], status=USAGE, fatal=("--mode", "abstract"))

    def test_a_stale_node_is_replaced(self):
        def stale(form):
            path = self.fresh(form)
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as old:
                old.bind(path)
            return [path, "true"]
        self.case(APPLET, stale)

    def test_a_live_server_is_left_alone(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as server:
            server.bind(path)
            server.listen(5)
            before = os.lstat(path).st_ino
            self.case(APPLET, [path, "true"], status=FAILURE,
                      fatal=(path, "in use by a running server"))
            self.assertEqual(os.lstat(path).st_ino, before)

    def test_a_live_server_of_another_type_is_left_alone(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(5)
            self.case(APPLET, [path, "true"], status=FAILURE,
                      fatal=(path, "in use by a running server"))
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))

    def test_a_regular_file_is_left_alone(self):
        path = self.path()
        with open(path, "w") as f:
            f.write("data\n")
        self.case(APPLET, [path, "true"], status=FAILURE, fatal=(path, "regular file", "left alone"))
        with open(path) as f:
            self.assertEqual(f.read(), "data\n")

    def test_systemd_compatibility(self):
        code = "import os\nprint(os.environ['LISTEN_FDS'], os.environ['LISTEN_FDNAMES'])"
        self.case(APPLET, lambda form: ["--systemd-compatibility", "--name", "q", self.fresh(form)]
                  + probe(code), stdout="1 q\n")

    # --- exit statuses and message classes -------------------------------------

    def test_help(self):
        result = self.case(APPLET, ["--help"])[0]
        self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] PATH NEXT-PROG"))
        self.assertIn("--backlog", result.stdout)
        self.assertIn("Process name while it runs: lseqpkt-listen", result.stdout)

    def test_usage_errors_leave_nothing(self):
        for args, culprit in ((["--bogus", "p", "true"], "--bogus"),
                              (["--backlog", "-1", "p", "true"], "--backlog"),
                              (["--uid", "1", "--user", "root", "p", "true"], "--user"),
                              (["--name", "q", "p", "true"], "--name"),
                              ([], "PATH"), (["p"], "NEXT-PROG"),
                              (["/" + "x" * 107, "true"], "limit is 107")):
            with self.subTest(args=args):
                self.case(APPLET, args, status=USAGE, fatal=culprit, cwd=self.dir)
                self.assertEqual(os.listdir(self.dir), [])

    def test_the_chain_is_planned_before_the_socket_exists(self):
        path = self.path()
        self.case(APPLET, [path, "fdmove", "x", "3", "true"], status=USAGE,
                  stderr="fdmove: FATAL: TO: not a number: x\n")
        self.assertNoFile(path)
        self.case(APPLET, [path, "local-seqpacket-socket-accept", "-c", "0", "true"], status=USAGE,
                  stderr="local-seqpacket-socket-accept: FATAL: --connection-limit: "
                         "out of range 1..2147483647: 0\n")
        self.assertNoFile(path)
        self.case(APPLET, [path, "no-such-program-xyz"], status=NOT_FOUND, fatal="no-such-program-xyz")
        self.assertNoFile(path)

    def test_unknown_account_is_111_before_the_socket(self):
        path = self.path()
        self.case(APPLET, ["--user", "no-such-user-xyz", path, "true"], status=FAILURE,
                  fatal="no-such-user-xyz")
        self.assertNoFile(path)

    def test_cannot_run_removes_the_node(self):
        path = self.path()
        self.case(APPLET, [path, self.dir], status=CANNOT_RUN, fatal=self.dir)
        self.assertNoFile(path)

    def test_a_later_link_failing_removes_the_node(self):
        path = self.path()
        self.case(APPLET, [path, "fdmove", "5", "9", "true"], status=FAILURE,
                  stderr="fdmove: FATAL: descriptor 9: Bad file descriptor\n")
        self.assertNoFile(path)

    def test_bind_failure_is_111(self):
        missing = self.path("no-such-dir/socket")
        self.case(APPLET, [missing, "true"], status=FAILURE, fatal=missing)

    def test_process_name(self):
        strace = which("strace")
        result = run([strace, "-qq", "-e", "trace=prctl", "-e", "signal=none", applet_link(APPLET),
                      self.path(), "true"])
        self.assertExit(result, 0)
        self.assertIn('prctl(PR_SET_NAME, "lseqpkt-listen")', result.stderr)


class Readiness(ReadinessTestCase):
    """--notify-fd and --sd-notify: the supervisor is told once, and the socket
    takes connections by then (checked while the end of the chain waits)."""

    def listens(self, path):
        def check(process):
            self.assertTrue(listening(path), "listening in /proc/net/unix")
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as client:
                client.settimeout(10)
                client.connect(path)
        return check

    def test_notify_fd_gets_one_newline_and_is_not_passed_on(self):
        sock = self.path("s")
        out = self.ready_by_notify_fd([applet_link(APPLET), "--notify-fd", "5", sock], self.listens(sock))
        self.assertEqual(out, "fd 5 closed\n")

    def test_sd_notify_sends_one_ready_from_the_process(self):
        sock = self.path("s")
        self.ready_by_sd_notify([applet_link(APPLET), "--sd-notify", sock], self.listens(sock))

if __name__ == "__main__":
    main()
