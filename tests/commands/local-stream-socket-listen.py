"""End-to-end tests of local-stream-socket-listen: each chain ends in a
program that reports what it inherited (a Python probe, printenv, a client
on the other side of the socket, libsystemd)."""

import os
import grp
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, LIST_FDS, NOT_FOUND, PYTHON, SOURCE_DIR, USAGE, TOOLKIT,
                     ReadinessTestCase, ToolkitTestCase, applet_link, forms, main, open_descriptors, probe,
                     run, stopped_by_strace, which)

APPLET = "local-stream-socket-listen"

# What the end of the chain inherited on fd 3 (and the descriptors it has).
DESCRIBE_FD3 = textwrap.dedent("""
    import fcntl, os, socket
    s = socket.socket(fileno=3)
    print(s.family.name, s.type.name, repr(s.getsockname()))
    print("listening", s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    print("blocking", s.getblocking())
    print("cloexec", bool(fcntl.fcntl(3, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    print("passcred", s.getsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED))
    print("passsec", s.getsockopt(socket.SOL_SOCKET, 34))  # SO_PASSSEC
    s.detach()
""")

# A one-connection echo server on fd 3 that says when it is ready.
ECHO_SERVER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(fileno=3)
    print("ready", flush=True)
    connection, _ = s.accept()
    data = connection.recv(100)
    connection.sendall(b"echo:" + data)
    connection.close()
""")

# A daemon written against libsystemd: what sd_listen_fds_with_names() accepts.
SD_PROGRAM = textwrap.dedent(r"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <systemd/sd-daemon.h>
    int main(void) {
        char** names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) { printf("error %d\n", n); return 1; }
        printf("count %d\n", n);
        for (int i = 0; i < n; ++i)
            printf("fd %d %s unix-stream-listening %d\n", SD_LISTEN_FDS_START + i,
                   names ? names[i] : "(none)",
                   sd_is_socket_unix(SD_LISTEN_FDS_START + i, SOCK_STREAM, 1, NULL, 0));
        printf("LISTEN_FDS %s\n", getenv("LISTEN_FDS") ? getenv("LISTEN_FDS") : "(unset)");
        return 0;
    }
""")


class ListenTest(ToolkitTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-listen-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name="socket"):
        return os.path.join(self.dir, name)

    def each_form(self):
        """(label, argv prefix, a fresh socket path) for each invocation form,
        for the tests that keep a server running while they look (case()
        runs one command to its end)."""
        return [(label, prefix, self.path(label)) for label, prefix in forms(APPLET)]

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def described(self, check):
        """A THEN for case(): CHECK(lines of DESCRIBE_FD3's report, the form's socket path)."""
        return lambda result, form: check(result.stdout.splitlines(), self.path(form))

    def assertNoFile(self, path):
        self.assertFalse(os.path.lexists(path), f"{path} was left behind")

    # --- the socket the next program inherits -------------------------------

    def test_socket_on_fd3_listening_inheritable_blocking(self):
        def check(lines, path):
            self.assertEqual(lines[:4], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1",
                                         "blocking True", "cloexec False"])
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        self.case(APPLET, lambda form: [self.path(form)] + probe(DESCRIBE_FD3), then=self.described(check))

    def test_only_fd3_is_added(self):
        # Every descriptor the applet opened for itself is close-on-exec.
        self.case(APPLET, lambda form: [self.path(form), "sh", "-c", "ls /proc/$$/fd"],
                  then=lambda result, form: self.assertEqual(result.stdout.split(), ["0", "1", "2", "3"]))

    def test_no_internal_descriptor_for_a_later_link(self):
        # Descriptor 4 is not open after the listen step: a later link that
        # moves it fails, and the undo removes the socket file.
        self.case(APPLET, lambda form: [self.path(form), "fdmove", "5", "4", "sh", "-c", "ls -l /proc/$$/fd"],
                  status=FAILURE, fatal=("descriptor 4", "Bad file descriptor"), fatal_by="fdmove", stdout="",
                  then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_only_the_sockets_reach_the_next_program(self):
        self.case(APPLET, lambda form: [self.path(form)] + probe(LIST_FDS), stdout="0 1 2 3\n")
        self.case(APPLET, lambda form: ["--systemd-compatibility", self.path(form + "-1")] +
                  [APPLET, "--systemd-compatibility", self.path(form + "-2")] + probe(LIST_FDS),
                  stdout="0 1 2 3 4\n")

    def test_only_the_sockets_stay_open_for_the_rest_of_the_chain(self):
        # A later link runs in the same process (accept waits in it): the
        # listen step must have closed its own descriptors, close-on-exec or
        # not. Seen from outside while accept waits, then from the program
        # each connection runs.
        accept = "local-stream-socket-accept"  # by name: a link of this chain, not a program
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                server = subprocess.Popen(prefix + [path, accept] + probe(LIST_FDS),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True)
                self.addCleanup(self.stop_quietly, server)
                client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.addCleanup(client.close)
                for _ in range(400):  # bounded: up to about 20 s for the chain to start
                    try:
                        client.connect(path)
                        break
                    except (FileNotFoundError, ConnectionRefusedError):
                        self.assertIsNone(server.poll(), "the chain ended before listening")
                        time.sleep(0.05)
                else:
                    self.fail("the socket never accepted a connection")
                client.settimeout(20)
                with client.makefile("r") as reply:
                    self.assertEqual(reply.readline(), "0 1 2\n")
                held = open_descriptors(server.pid)
                self.assertIn(3, held)
                self.assertTrue(held[3].startswith("socket:"), held)
                for fd, target in held.items():
                    self.assertTrue(fd in (0, 1, 2) or target.startswith(("socket:", "anon_inode:")),
                                    f"descriptor {fd} ({target}) is still open in the chain")
                self.assertNotIn(os.path.realpath(self.dir), held.values())

    @staticmethod
    def stop_quietly(server):
        if server.poll() is None:
            server.kill()
        server.wait()
        server.stderr.close()

    def test_socket_on_fd3_when_descriptor_2_is_closed(self):
        # The socket is then made on 2 and moved to 3, a number nothing else
        # of ours may be holding when it moves.
        def check(lines, path):
            self.assertEqual(lines[:2], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1"])
        self.case(APPLET, lambda form: [self.path(form)] + probe(DESCRIBE_FD3), then=self.described(check),
                  wrap=lambda argv: ["sh", "-c", 'exec 2>&-; exec "$@"', "sh"] + argv)

    def test_replaces_what_was_on_fd3(self):
        def check(lines, path):
            self.assertEqual(lines[:2], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1"])
        self.case(APPLET, lambda form: [self.path(form)] + probe(DESCRIBE_FD3), then=self.described(check),
                  wrap=lambda argv: ["sh", "-c", 'exec 3</dev/null; exec "$@"', "sh"] + argv)

    def test_pass_credentials_and_security(self):
        self.case(APPLET, lambda form: [self.path(form)] + probe(DESCRIBE_FD3),
                  then=lambda result, form: self.assertEqual(result.stdout.splitlines()[4:6],
                                                             ["passcred 0", "passsec 0"]))
        self.case(APPLET, lambda form: ["--pass-credentials", "--pass-security", self.path(form + "-passing")]
                  + probe(DESCRIBE_FD3),
                  then=lambda result, form: self.assertEqual(result.stdout.splitlines()[4:6],
                                                             ["passcred 1", "passsec 1"]))

    def test_backlog_reaches_listen(self):
        which("ss")
        for options, backlog in (([], 5), (["--backlog", "17"], 17), (["-b9"], 9), (["--backlog=0x20"], 32)):
            def check(result, form):
                fields = result.stdout.split()
                self.assertEqual(fields[4], self.path(f"{form}-{backlog}"), result.stdout)
                self.assertEqual(int(fields[3]), backlog)  # Send-Q of a listening socket: its backlog
            with self.subTest(options=options):
                self.case(APPLET, lambda form: options + [self.path(f"{form}-{backlog}"), "ss", "-xlH", "src",
                                                          self.path(f"{form}-{backlog}")], then=check)

    # --- real clients --------------------------------------------------------

    def serve_one(self, argv):
        """Start ARGV (a chain ending in ECHO_SERVER); return it once it is ready."""
        server = subprocess.Popen(argv + probe(ECHO_SERVER), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop, server)
        self.assertEqual(server.stdout.readline(), "ready\n")
        return server

    @staticmethod
    def stop(server):
        if server.poll() is None:
            server.kill()
        server.wait()
        server.stdout.close()
        server.stderr.close()

    def test_socat_client(self):
        socat = which("socat")
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                server = self.serve_one(prefix + [path])
                client = run([socat, "-", f"UNIX-CONNECT:{path}"], input="hello")
                self.assertClean(client, "echo:hello")
                server.wait(timeout=20)
                self.assertEqual(server.returncode, 0, server.stderr.read())

    def test_python_client(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                server = self.serve_one(prefix + [path])
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(20)
                    client.connect(path)
                    client.sendall(b"hi")
                    self.assertEqual(client.recv(100), b"echo:hi")
                server.wait(timeout=20)
                self.assertEqual(server.returncode, 0)

    def test_abstract_socket(self):
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                name = f"toolkit-test-{os.getpid()}-{label}"
                server = self.serve_one(prefix + ["@" + name])
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(20)
                    client.connect("\0" + name)
                    client.sendall(b"abstract")
                    self.assertEqual(client.recv(100), b"echo:abstract")
                server.wait(timeout=20)
                self.assertEqual(os.listdir(self.dir), [])

    def test_path_must_end_in_a_file_name(self):
        for name in ("sub/", ".", "sub/.."):
            with self.subTest(name=name):
                os.makedirs(self.path("sub"), exist_ok=True)
                path = os.path.join(self.dir, name)
                self.case(APPLET, [path, "echo", "ran"], status=USAGE,
                          fatal=("PATH", path, "does not end in a file name"), stdout="")
                self.assertEqual(os.listdir(self.path("sub")), [])

    def test_relative_path_in_the_current_directory(self):
        def check(result, form):
            self.assertEqual(result.stdout, os.path.realpath(self.path("s-" + form)) + "\n")
            self.assertEqual(self.mode(self.path("s-" + form)), 0o600)
        self.case(APPLET, lambda form: ["--mode", "0600", "s-" + form, "sh", "-c", 'readlink -f "$0"', "s-" + form],
                  then=check, cwd=self.dir)

    def test_a_symbolic_link_to_the_directory_is_followed_once(self):
        """A link as the last directory of PATH is followed at the start (and
        the socket keeps PATH as its name)."""
        os.mkdir(self.path("real"))
        os.symlink(self.path("real"), self.path("link"))

        def check(result, form):
            self.assertEqual(result.stdout, os.path.join(self.path("link"), form) + "\n")
            self.assertTrue(stat.S_ISSOCK(os.lstat(os.path.join(self.path("real"), form)).st_mode))
            self.assertEqual(self.mode(os.path.join(self.path("real"), form)), 0o640)
        self.case(APPLET, lambda form: ["--mode", "0640", os.path.join(self.path("link"), form), PYTHON, "-c",
                                        "import socket; print(socket.socket(fileno=3).getsockname())"],
                  then=check)

    def test_abstract_socket_refuses_file_options(self):
        for option in (["--mode", "0600"], ["-m0600"], ["--uid", "1"], ["-g", "1"],
                       ["--user", "root"], ["--group", "root"]):
            with self.subTest(option=option):
                self.case(APPLET, option + ["@toolkit-test", "true"], status=USAGE, fatal="abstract")

    # --- the socket file: mode, owner, group -----------------------------------

    def test_mode_is_exact_whatever_the_umask(self):
        # The umask of the caller must not matter, and it is restored for the next program.
        self.case(APPLET, lambda form: ["--mode", "0666", self.path(form), "sh", "-c", "umask"], stdout="0077\n",
                  wrap=lambda argv: ["sh", "-c", 'umask 077; exec "$@"', "sh"] + argv,
                  then=lambda result, form: self.assertEqual(self.mode(self.path(form)), 0o666))
        self.case(APPLET, lambda form: ["-m", "0640", self.path(form + "-m"), "true"],
                  then=lambda result, form: self.assertEqual(self.mode(self.path(form + "-m")), 0o640))

    def test_mode_without_option_follows_umask(self):
        self.case(APPLET, lambda form: [self.path(form), "true"],
                  wrap=lambda argv: ["sh", "-c", 'umask 027; exec "$@"', "sh"] + argv,
                  then=lambda result, form: self.assertEqual(self.mode(self.path(form)), 0o750))

    def test_decimal_mode_warns_and_is_taken_as_written(self):
        self.case(APPLET, lambda form: ["--mode", "660", self.path(form), "true"],
                  stderr=f"{APPLET}: WARNING: --mode: 660 is decimal (01224 in octal); write 0660 if octal was meant\n",
                  then=lambda result, form: self.assertEqual(self.mode(self.path(form)), 0o1224))

    def test_a_decimal_mode_that_cannot_be_octal_suggests_no_octal_spelling(self):
        # "write 0680" would send the user to a number that is refused.
        self.case(APPLET, lambda form: ["--mode", "680", self.path(form), "true"],
                  stderr=f"{APPLET}: WARNING: --mode: 680 is decimal (01250 in octal)\n",
                  then=lambda result, form: self.assertEqual(
                      stat.S_IMODE(os.lstat(self.path(form)).st_mode), 0o1250))
        self.case(APPLET, ["--mode", "0680", self.path(), "true"], status=USAGE,
                  fatal=("--mode", "not a number: 0680"))
        self.assertNoFile(self.path())

    def need_root(self):
        if os.geteuid() != 0:
            self.skipTest("changing the owner of a file needs root")

    def test_numeric_owner_and_group(self):
        self.need_root()

        def owner(suffix, wanted):
            def check(result, form):
                status = os.lstat(self.path(form + suffix))
                self.assertEqual((status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode))[:len(wanted)], wanted)
            return check
        self.case(APPLET, lambda form: ["--uid", "12345", "--gid", "23456", "--mode", "0600", self.path(form), "true"],
                  then=owner("", (12345, 23456, 0o600)))
        # The other one stays unchanged.
        self.case(APPLET, lambda form: ["-u", "4321", self.path(form + "-u"), "true"],
                  then=owner("-u", (4321, os.getegid())))
        self.case(APPLET, lambda form: ["-g4321", self.path(form + "-g"), "true"],
                  then=owner("-g", (os.geteuid(), 4321)))

    def test_owner_and_group_by_name(self):
        self.need_root()
        try:
            user, group = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
        except KeyError:
            self.skipTest("no account nobody or no group nogroup")
        self.case(APPLET, lambda form: ["--user", "nobody", "--group", "nogroup", self.path(form), "true"],
                  then=lambda result, form: self.assertEqual(
                      (os.lstat(self.path(form)).st_uid, os.lstat(self.path(form)).st_gid),
                      (user.pw_uid, group.gr_gid)))

    def test_both_forms_of_owner_is_usage_error(self):
        self.case(APPLET, ["--uid", "1", "--user", "root", self.path(), "true"], status=USAGE, fatal="--user")
        self.case(APPLET, ["--group", "root", "-g", "0", self.path(), "true"], status=USAGE, fatal="--group")
        self.assertNoFile(self.path())

    def test_unknown_account_or_group_stops_before_the_socket(self):
        self.case(APPLET, ["--user", "no-such-user-xyz", self.path(), "true"], status=FAILURE,
                  fatal="no-such-user-xyz")
        self.case(APPLET, ["--group", "no-such-group-xyz", self.path(), "true"], status=FAILURE,
                  fatal="no-such-group-xyz")
        self.assertNoFile(self.path())

    def stale_socket(self, path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
            old.bind(path)

    def test_an_empty_account_or_group_name_is_a_usage_error(self):
        # However the empty value is written, the message names the option,
        # and nothing is created.
        for words, message in ((["--user", ""], "--user: empty account name"),
                               (["--user="], "--user: empty account name"),
                               (["--group", ""], "--group: empty group name"),
                               (["--group="], "--group: empty group name")):
            with self.subTest(words=words):
                self.case(APPLET, words + [self.path(), "true"], status=USAGE,
                          stderr=f"{APPLET}: FATAL: {message}\n")
                self.assertNoFile(self.path())
        # An empty ACCOUNT further down the chain stops it before the socket exists.
        self.case(APPLET, [self.path(), "setuidgid", "", "true"], status=USAGE,
                  stderr="setuidgid: FATAL: ACCOUNT: empty account name\n")
        self.assertNoFile(self.path())

    # --- what is already at PATH ---------------------------------------------

    def test_stale_socket_is_replaced(self):
        # The stale file refuses connections; the one now at PATH must take them.
        code = "import socket, sys\nc = socket.socket(socket.AF_UNIX)\nc.connect(sys.argv[1])\nprint('connected')"
        self.case(APPLET, lambda form: [self.path(form)] + probe(code) + [self.path(form)], stdout="connected\n",
                  before=lambda form: self.stale_socket(self.path(form)))

    def test_live_server_keeps_serving(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                    server.bind(path)
                    server.listen(5)
                    before = os.lstat(path)
                    result = run(prefix + [path, "true"])
                    self.assertFatal(result, APPLET, FAILURE, path, "in use by a running server")
                    self.assertEqual(os.lstat(path).st_ino, before.st_ino)
                    server.settimeout(20)
                    probe_connection, _ = server.accept()  # the applet's own probe
                    probe_connection.close()
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                        client.settimeout(20)
                        client.connect(path)
                        connection, _ = server.accept()
                        connection.sendall(b"still here")
                        self.assertEqual(client.recv(100), b"still here")
                        connection.close()

    def test_regular_file_left_exactly_as_it_was(self):
        before = {}

        def regular_file(form):
            with open(self.path(form), "w") as f:
                f.write("data\n")
            os.chmod(self.path(form), 0o640)
            before[form] = os.lstat(self.path(form))

        def unchanged(result, form):
            after, was = os.lstat(self.path(form)), before[form]
            self.assertEqual((after.st_ino, after.st_mode, after.st_uid, after.st_mtime_ns),
                             (was.st_ino, was.st_mode, was.st_uid, was.st_mtime_ns))
            with open(self.path(form)) as f:
                self.assertEqual(f.read(), "data\n")
            self.assertIn(self.path(form), result.stderr)
        self.case(APPLET, lambda form: ["--mode", "0666", "--uid", "12345", self.path(form), "true"], status=FAILURE,
                  fatal="regular file", before=regular_file, then=unchanged)

    def test_directory_left_exactly_as_it_was(self):
        before = {}

        def directory(form):
            os.mkdir(self.path(form), 0o750)
            open(os.path.join(self.path(form), "inside"), "w").close()
            before[form] = os.lstat(self.path(form))

        def unchanged(result, form):
            after = os.lstat(self.path(form))
            self.assertEqual((after.st_ino, after.st_mode), (before[form].st_ino, before[form].st_mode))
            self.assertEqual(os.listdir(self.path(form)), ["inside"])
            self.assertIn(self.path(form), result.stderr)
        self.case(APPLET, lambda form: ["--mode", "0666", self.path(form), "true"], status=FAILURE,
                  fatal="directory", before=directory, then=unchanged)

    def test_symlink_to_victim_changes_nothing(self):
        self.need_root()
        victim = self.path("victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.chmod(victim, 0o600)

        def unchanged(result, form):
            self.assertIn(self.path(form), result.stderr)
            self.assertEqual(os.readlink(self.path(form)), victim)
            status = os.lstat(victim)
            self.assertEqual((stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid), (0o600, 0, 0))
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
        self.case(APPLET, lambda form: ["--mode", "0666", "--uid", "12345", "--gid", "12345", self.path(form), "true"],
                  status=FAILURE, fatal="symbolic link", before=lambda form: os.symlink(victim, self.path(form)),
                  then=unchanged)

    def test_dangling_symlink_is_not_followed(self):
        self.case(APPLET, lambda form: [self.path(form), "true"], status=FAILURE, fatal="symbolic link",
                  before=lambda form: os.symlink(self.path("target-" + form), self.path(form)),
                  then=lambda result, form: self.assertNoFile(self.path("target-" + form)))

    # --- nothing left behind after a failure ----------------------------------

    def test_node_removed_when_next_program_cannot_run(self):
        # Found while planning, but execve refuses it: a file without "#!".
        script = self.path("not-a-program")
        with open(script, "w") as f:
            f.write("echo hi\n")
        os.chmod(script, 0o755)
        self.case(APPLET, lambda form: [self.path(form), script], status=CANNOT_RUN, fatal=script,
                  then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_node_removed_when_the_owner_cannot_be_changed(self):
        # Unprivileged, the chown after bind fails: the socket file must go with it.
        self.need_root()
        os.chmod(self.dir, 0o777)

        def removed(result, form):
            self.assertIn(self.path(form), result.stderr)
            self.assertNoFile(self.path(form))
        # APPLET runs in the same process as setuidgid, after the drop.
        self.case("setuidgid", lambda form: ["nobody", APPLET, "--uid", "0", self.path(form), "true"],
                  status=FAILURE, fatal="Operation not permitted", fatal_by=APPLET, then=removed)

    def test_node_removed_when_a_later_link_fails(self):
        self.case(APPLET, lambda form: [self.path(form), "fdmove", "5", "9", "true"], status=FAILURE, fatal="9",
                  fatal_by="fdmove", then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_relative_node_removed_after_a_later_chdir(self):
        # The undo reopens the directory of "rel" after chdir has moved the
        # process: it must be the directory the node was made in, not "/".
        self.case(APPLET, lambda form: ["rel-" + form, "chdir", "/", "fdmove", "5", "9", "true"],
                  status=FAILURE, cwd=self.dir, stderr="fdmove: FATAL: descriptor 9: Bad file descriptor\n",
                  then=lambda result, form: self.assertNoFile(self.path("rel-" + form)))

    def test_node_removed_when_a_later_listen_fails(self):
        self.case(APPLET, lambda form: [self.path(form), APPLET, self.path(form), "true"], status=FAILURE,
                  fatal="in use by a running server", then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_undo_unaffected_by_a_later_socket_on_a_low_descriptor(self):
        # The second link puts its socket on descriptor 4; the undo of the
        # first one must still find its own file, in its own directory.
        script = self.path("not-a-program")
        with open(script, "w") as f:
            f.write("echo hi\n")
        os.chmod(script, 0o755)

        def removed(result, form):
            self.assertNoFile(self.path(form + "-a"))
            self.assertNoFile(self.path(form + "-b"))
        self.case(APPLET, lambda form: ["--systemd-compatibility", self.path(form + "-a")] +
                  [APPLET, "--systemd-compatibility", self.path(form + "-b"), "./not-a-program"],
                  status=CANNOT_RUN, fatal="./not-a-program", stdout="", then=removed, cwd=self.dir)

    def test_stale_socket_left_when_chain_fails_before_running(self):
        # A failure while planning changes nothing, not even a stale socket.
        before = {}

        def stale(form):
            self.stale_socket(self.path(form))
            before[form] = os.lstat(self.path(form)).st_ino
        self.case(APPLET, lambda form: [self.path(form), "no-such-program-xyz"], status=NOT_FOUND, fatal=(),
                  before=stale,
                  then=lambda result, form: self.assertEqual(os.lstat(self.path(form)).st_ino, before[form]))

    # --- exit statuses and usage errors --------------------------------------

    def test_help(self):
        def check(result, form):
            for option in ("--backlog", "--uid", "--gid", "--user", "--group", "--mode",
                           "--pass-credentials", "--pass-security", "--upstart-compatibility",
                           "--systemd-compatibility", "--name"):
                self.assertIn(option, result.stdout)
            self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] PATH NEXT-PROG"))
        self.case(APPLET, ["--help"], then=check)

    def test_usage_errors(self):
        cases = [
            (["--bogus", "p", "true"], "--bogus"),
            (["--back", "3", "p", "true"], "--back"),
            (["--backlog", "x", "p", "true"], "--backlog"),
            (["--backlog", "-1", "p", "true"], "--backlog"),
            (["--backlog", "2147483648", "p", "true"], "--backlog"),
            (["--mode", "010000", "p", "true"], "--mode"),
            (["--uid", "4294967295", "p", "true"], "--uid"),
            (["--gid", "1x", "p", "true"], "--gid"),
            ([], "PATH"),
            (["p"], "NEXT-PROG"),
            (["--name", "a", "p", "true"], "--name"),
            (["--systemd-compatibility", "--name", "a:b", "p", "true"], "--name"),
            (["--systemd-compatibility", "--name", "", "p", "true"], "--name"),
            (["--systemd-compatibility", "--name", "x" * 256, "p", "true"], "--name"),
            (["--systemd-compatibility", "--name", "tab\there", "p", "true"], "--name"),
            (["p", "fdmove", "x", "3", "true"], "x"),
        ]
        for args, culprit in cases:
            def check(result, form):
                self.assertIn(culprit, result.stderr)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertEqual(os.listdir(self.dir), [])
            with self.subTest(args=args):
                self.case(APPLET, args, status=USAGE, then=check, cwd=self.dir)

    def test_path_too_long_states_the_limit(self):
        limit = 107  # sizeof sun_path - 1 on Linux
        self.case(APPLET, ["/" + "x" * limit, "true"], status=USAGE,
                  fatal=("PATH", f"{limit + 1} bytes", f"limit is {limit}"))

    def test_longest_path_works(self):
        path = os.path.join(self.dir, "y" * (107 - len(self.dir) - 1))
        self.assertEqual(len(path), 107)

        def made(result, form):
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
            os.unlink(path)
        self.case(APPLET, [path, "true"], then=made)

    def test_next_program_not_found_leaves_nothing(self):
        self.case(APPLET, lambda form: [self.path(form), "no-such-program-xyz"], status=NOT_FOUND,
                  fatal="no-such-program-xyz", then=lambda result, form: self.assertNoFile(self.path(form)))
        # Also at the end of a chain of applets.
        self.case(APPLET, lambda form: [self.path(form), "setuidgid", "root", "no-such-program-xyz"],
                  status=NOT_FOUND, then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_next_program_cannot_be_executed_leaves_nothing(self):
        self.case(APPLET, lambda form: [self.path(form), self.dir], status=CANNOT_RUN, fatal=(),
                  then=lambda result, form: self.assertNoFile(self.path(form)))

    def test_bind_failure_is_111(self):
        missing = os.path.join(self.path(), "no-such-dir", "socket")
        self.case(APPLET, [missing, "true"], status=FAILURE, fatal=missing)

    def environment_seen(self, check, names=("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                             "UPSTART_FDS", "UPSTART_EVENTS")):
        """The probe that prints NAMES of its environment and its pid, and a THEN
        for case() that calls CHECK with what it printed, as a dict."""
        code = "import os\nfor n in %r: print(n, os.environ.get(n))\nprint('pid', os.getpid())" % (names,)
        return probe(code), lambda result, form: check(dict(line.split(" ", 1)
                                                            for line in result.stdout.splitlines()))

    def environment(self, extra=None):
        """Ours, without the variables the tests look for, and with EXTRA."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "UPSTART_"))}
        env.update(extra or {})
        return env

    # --- the environment -------------------------------------------------------

    def test_without_compatibility_options_environment_is_left_alone(self):
        code, then = self.environment_seen(lambda seen: self.assertEqual(
            (seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["UPSTART_FDS"]), ("7", "1", "None")))
        self.case(APPLET, lambda form: [self.path(form)] + code, then=then,
                  env=self.environment({"LISTEN_FDS": "7", "LISTEN_PID": "1"}))

    def test_upstart_compatibility(self):
        code, then = self.environment_seen(lambda seen: self.assertEqual(
            (seen["UPSTART_FDS"], seen["UPSTART_EVENTS"], seen["LISTEN_FDS"]), ("3", "socket", "None")))
        self.case(APPLET, lambda form: ["--upstart-compatibility", self.path(form)] + code, then=then,
                  env=self.environment())

    def test_systemd_compatibility_single(self):
        code, then = self.environment_seen(lambda seen: self.assertEqual(
            (seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["LISTEN_FDNAMES"]), ("1", seen["pid"], "None")))
        self.case(APPLET, lambda form: ["--systemd-compatibility", self.path(form)] + code, then=then,
                  env=self.environment())

    def test_systemd_compatibility_ignores_a_set_for_another_process(self):
        code, then = self.environment_seen(lambda seen: self.assertEqual(
            (seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["LISTEN_FDNAMES"]), ("1", seen["pid"], "unknown")))
        self.case(APPLET, lambda form: ["--systemd-compatibility", self.path(form)] + code, then=then,
                  env=self.environment({"LISTEN_FDS": "2", "LISTEN_PID": "1", "LISTEN_FDNAMES": "a:b"}))

    def stack(self, paths, names=(None, None, None)):
        """The arguments of a chain of listen links, one per path (the first
        link's name is case()'s), each with --systemd-compatibility."""
        args = []
        for path, name in zip(paths, names):
            args += ([APPLET] if args else []) + ["--systemd-compatibility"]
            args += (["--name", name] if name else []) + [path]
        return args

    def test_systemd_stacking_fds_in_chain_order(self):
        code = textwrap.dedent("""
            import os, socket
            for fd in (3, 4, 5):
                s = socket.socket(fileno=fd)
                print(fd, s.getsockname(), s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
                s.detach()
            print(os.environ["LISTEN_FDS"], os.environ["LISTEN_PID"] == str(os.getpid()),
                  os.environ.get("LISTEN_FDNAMES"))
        """)
        paths = lambda form: [self.path(f"{form}-{i}") for i in range(3)]  # noqa: E731
        self.case(APPLET, lambda form: self.stack(paths(form), ("first", None, "third")) + probe(code),
                  then=lambda result, form: self.assertEqual(
                      result.stdout, "".join(f"{3 + i} {p} 1\n" for i, p in enumerate(paths(form))) +
                      "3 True first:unknown:third\n"))

    def test_systemd_stacking_seen_by_a_python_daemon(self):
        # socket.socket(fileno=3): how Python daemons take a passed socket.
        code = textwrap.dedent("""
            import os, socket
            assert int(os.environ["LISTEN_PID"]) == os.getpid()
            names = os.environ["LISTEN_FDNAMES"].split(":")
            for i in range(int(os.environ["LISTEN_FDS"])):
                s = socket.socket(fileno=3 + i)
                print(names[i], s.family.name, s.type.name, s.getsockname())
                s.detach()
        """)
        paths = lambda form: [self.path(f"{form}-a"), self.path(f"{form}-b")]  # noqa: E731
        self.case(APPLET, lambda form: self.stack(paths(form), ("web", "admin")) + probe(code),
                  then=lambda result, form: self.assertEqual(
                      result.stdout, f"web AF_UNIX SOCK_STREAM {paths(form)[0]}\n"
                                     f"admin AF_UNIX SOCK_STREAM {paths(form)[1]}\n"))

    def sd_program(self):
        which("cc")
        which("pkg-config")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libsystemd"], capture_output=True, text=True)
        if flags.returncode != 0:
            self.skipTest("libsystemd-dev is not installed (pkg-config libsystemd failed)")
        source, binary = self.path("sd.c"), self.path("sd")
        with open(source, "w") as f:
            f.write(SD_PROGRAM)
        built = subprocess.run(["cc", "-o", binary, source] + flags.stdout.split(), capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stderr)
        return binary

    def test_systemd_stacking_seen_by_libsystemd(self):
        program = self.sd_program()
        # Names for all three, for some, and for none: libsystemd accepts each set.
        for n, (names, expected) in enumerate([(("one", "two", "three"), ("one", "two", "three")),
                                               ((None, "two", None), ("unknown", "two", "unknown")),
                                               ((None, None, None), ("unknown", "unknown", "unknown"))]):
            with self.subTest(names=names):
                self.case(APPLET, lambda form: self.stack([self.path(f"{form}-{n}-{i}") for i in range(3)], names)
                          + [program],
                          stdout="count 3\n" + "".join(f"fd {3 + i} {name} unix-stream-listening 1\n"
                                                       for i, name in enumerate(expected))
                          + "LISTEN_FDS (unset)\n")

    def test_systemd_appends_to_a_set_given_to_this_process(self):
        # As if a service manager had started us with one socket already on fd 3.
        program = self.sd_program()
        code = textwrap.dedent("""
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(1)
            os.dup2(s.fileno(), 3)
            os.set_inheritable(3, True)
            os.dup2(os.open("/dev/null", os.O_RDONLY), 4)  # to be replaced by the new socket
            os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="outer")
            os.execv(sys.argv[2], sys.argv[2:])
        """)
        # The launcher's own socket sits beside the one the command makes (argv[-2]).
        self.case(APPLET, lambda form: ["--systemd-compatibility", "--name", "inner", self.path(form), program],
                  wrap=lambda argv: probe(code) + [argv[-2] + "-outer"] + argv,
                  stdout="count 2\nfd 3 outer unix-stream-listening 1\n"
                         "fd 4 inner unix-stream-listening 1\nLISTEN_FDS (unset)\n")

    def test_systemd_names_fixed_when_they_do_not_match(self):
        code = textwrap.dedent("""
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(1)
            os.dup2(s.fileno(), 3)
            os.set_inheritable(3, True)
            os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="a:b")
            os.execv(sys.argv[2], sys.argv[2:])
        """)
        self.case(APPLET, lambda form: ["--systemd-compatibility", self.path(form), "printenv", "LISTEN_FDNAMES",
                                        "LISTEN_FDS"],
                  wrap=lambda argv: probe(code) + [argv[-4] + "-outer"] + argv,
                  stdout="unknown:unknown\n2\n",
                  stderr=f"{APPLET}: WARNING: LISTEN_FDNAMES: does not match LISTEN_FDS=1; "
                         "the earlier descriptors are now named unknown\n")

    # --- whole chains ----------------------------------------------------------

    def test_chain_through_setuidgid(self):
        self.need_root()
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no account nobody")
        os.chmod(self.dir, 0o755)  # so that nobody can look at the socket file
        shell = 'id -u; readlink /proc/$$/fd/3 | cut -c1-8; test -S "$0" && echo socket-file'
        self.case(APPLET, lambda form: ["--user", "nobody", "--mode", "0600", self.path(form), "setuidgid", "nobody",
                                        "sh", "-c", shell, self.path(form)],
                  stdout=f"{nobody.pw_uid}\nsocket:[\nsocket-file\n")

    def test_inetd_style_with_fdmove(self):
        code = ("import socket\ns = socket.socket(fileno=0)\n"
                "print(s.getsockname(), s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))")
        self.case(APPLET, lambda form: [self.path(form), "fdmove", "0", "3"] + probe(code),
                  then=lambda result, form: self.assertEqual(result.stdout, f"{self.path(form)} 1\n"))

class DirectorySwapTest(ToolkitTestCase):
    """PATH's directory is replaced by a symbolic link to another directory
    at a chosen moment: strace stops the listener (an injected SIGSTOP) right
    after its last look at PATH before bind(2), the test swaps, then lets it
    go on. No timing: the test waits for the stop it caused."""

    def setUp(self):
        sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "faults"))
        import strace_faults
        reason = strace_faults.strace_unusable()
        if reason:
            self.skipTest(reason)
        if os.geteuid() != 0:
            self.skipTest("giving the socket away needs root")
        self.strace = strace_faults
        self.dir = tempfile.mkdtemp(prefix="toolkit-listen-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def prepare(self, directory):
        """What the directory holds before each run (nothing)."""

    def run_with_swap(self, argv, stop_at, swap, directory):
        """Run ARGV, stopped at the call STOP_AT names to SWAP; DIRECTORY is
        emptied again after the trial run that finds the call."""
        self.prepare(directory)
        where = self.strace.locate(argv, stop_at)
        self.assertIsNotNone(where, f"no {stop_at.syscall} call matching {stop_at.match!r}")
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        self.prepare(directory)
        trace = os.path.join(self.dir, "trace")
        tracer = subprocess.Popen([self.strace.STRACE, "-f", "-qq", "-e", "signal=SIGSTOP", "-o", trace,
                                   "-e", "trace=" + where.syscall,
                                   "-e", f"inject={where.syscall}:signal=SIGSTOP:when={where.nth_of_syscall}"]
                                  + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            child = stopped_by_strace(tracer, trace)
            swap()
            os.kill(child, signal.SIGCONT)
            out, err = tracer.communicate(timeout=20)
        finally:
            if tracer.poll() is None:
                # A listener left stopped would hold the pipes open: it goes first.
                for pid in self.strace.children_of(tracer.pid):
                    os.kill(pid, signal.SIGKILL)
                tracer.kill()
                tracer.communicate(timeout=20)
        return subprocess.CompletedProcess(argv, tracer.returncode, out, err)

    def test_directory_swapped_before_bind_is_refused(self):
        """bind(2) goes by the full path and lands in the other directory: the
        check after it does not find that socket in the directory opened at
        the start, so the command fails and gives nothing away."""
        real = os.path.join(self.dir, "d")
        other = os.path.join(self.dir, "other")
        os.mkdir(real)
        os.mkdir(other)
        path = os.path.join(real, "s")

        def swap():
            os.rename(real, real + ".real")
            os.symlink(other, real)

        # The last look at PATH before bind: the stat of its last component.
        stop_at = self.strace.Fault(APPLET, [], "newfstatat|fstatat64|statx|lstat", r'"(s|[^"]*/d/s)", ', "", 0, [])
        argv = [applet_link(APPLET), "--mode", "0640", "--uid", "12345", "--gid", "12345", path, "echo", "ran"]
        result = self.run_with_swap(argv, stop_at, swap, real)
        self.assertFatal(result, APPLET, FAILURE, path, "after bind")
        self.assertEqual(result.stdout, "", "the next program ran")
        self.assertEqual(os.listdir(real + ".real"), [])
        # bind made a socket file in the other directory (it cannot be helped);
        # its owner, group and mode are as bind left them.
        self.assertEqual(os.listdir(other), ["s"])
        status = os.lstat(os.path.join(other, "s"))
        self.assertTrue(stat.S_ISSOCK(status.st_mode))
        self.assertEqual((status.st_uid, status.st_gid), (0, os.getegid()))
        self.assertEqual(stat.S_IMODE(status.st_mode), 0o640)

    def test_directory_swapped_before_a_stale_socket_is_removed(self):
        """A stale socket is checked in the directory opened at the start; the
        directory is then swapped for one holding a file of the same name.
        The stale socket goes, the other file stays (bind then finds it and fails)."""
        real = os.path.join(self.dir, "d")
        other = os.path.join(self.dir, "other")
        os.mkdir(real)
        os.mkdir(other)
        path = os.path.join(real, "s")
        victim = os.path.join(other, "s")
        with open(victim, "w") as f:
            f.write("precious\n")
        before = os.lstat(victim)

        def stale(directory):
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(os.path.join(directory, "s"))
            listener.close()
        self.prepare = stale

        def swap():
            os.rename(real, real + ".real")
            os.symlink(other, real)

        # The second look at PATH: the check just before the stale socket is removed.
        stop_at = self.strace.Fault(APPLET, [], "newfstatat|fstatat64|statx|lstat", r'"(s|[^"]*/d/s)", ', "", 0, [],
                                    nth=2)
        argv = [applet_link(APPLET), "--mode", "0666", "--uid", "12345", path, "echo", "ran"]
        result = self.run_with_swap(argv, stop_at, swap, real)
        self.assertFatal(result, APPLET, FAILURE, path, "Address already in use")
        self.assertEqual(result.stdout, "", "the next program ran")
        self.assertEqual(os.listdir(real + ".real"), [])
        after = os.lstat(victim)
        self.assertEqual((after.st_ino, after.st_mode, after.st_uid, after.st_gid),
                         (before.st_ino, before.st_mode, before.st_uid, before.st_gid))

    def test_without_a_swap_the_same_command_succeeds(self):
        """Without the swap, the same command goes through, in the real directory."""
        real = os.path.join(self.dir, "d")
        os.mkdir(real)
        path = os.path.join(real, "s")
        result = run([applet_link(APPLET), "--mode", "0640", "--uid", "12345", path, "echo", "ran"])
        self.assertClean(result, "ran\n")
        self.assertEqual(os.lstat(path).st_uid, 12345)



class FailureAfterPrivilegeDrop(ToolkitTestCase):
    """A later link that fails after setuidgid: the node cannot be removed any more."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to drop privileges")
        # mkdtemp makes a 0700 directory: nobody may not remove entries of it.
        self.dir = tempfile.mkdtemp(prefix="toolkit-listen-drop-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_the_node_left_behind_is_named(self):
        path = os.path.join(self.dir, "socket")
        results = self.case(APPLET, [path, "setuidgid", "nobody", "fdmove", "5", "9", "true"],
                            status=FAILURE,
                            stderr="fdmove: FATAL: descriptor 9: Bad file descriptor\n"
                                   f"{APPLET}: WARNING: {path}: left behind after the chain failed: "
                                   "Permission denied\n")
        self.assertEqual(len(results), 2)
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))

    def test_without_the_drop_the_node_goes(self):
        path = os.path.join(self.dir, "socket")
        self.case(APPLET, [path, "fdmove", "5", "9", "true"], status=FAILURE,
                  stderr="fdmove: FATAL: descriptor 9: Bad file descriptor\n")
        self.assertFalse(os.path.lexists(path))


class ProcessName(ToolkitTestCase):
    def test_the_listen_step_has_a_name_of_its_own(self):
        strace = which("strace")
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "socket")
            result = run([strace, "-qq", "-e", "trace=prctl", "-e", "signal=none",
                          applet_link(APPLET), path, "true"])
        self.assertExit(result, 0)
        self.assertIn('prctl(PR_SET_NAME, "lstream-listen")', result.stderr)


class Readiness(ReadinessTestCase):
    """--notify-fd and --sd-notify: the supervisor is told once, when every socket listens."""

    def connects(self, path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            client.connect(path)
            return True

    def test_notify_fd_gets_one_newline_and_is_not_passed_on(self):
        first, second = self.path("a"), self.path("b")
        probe_code = ("import os, socket\n"
                      "for p in (%r, %r):\n"
                      "    socket.socket(socket.AF_UNIX).connect(p)\n"
                      "print('5 open' if os.path.exists('/proc/self/fd/5') else '5 closed', flush=True)\n"
                      "import time; time.sleep(30)\n") % (first, second)
        out = self.path("out")
        process, read_end = self.start(
            [applet_link(APPLET), "--notify-fd", "5", "--systemd-compatibility", first, APPLET, "--notify-fd", "5",
             "--systemd-compatibility", second, "sh", "-c", f'exec "$@" > {out}', "sh"] + probe(probe_code),
            notify_fd=5)
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.read(), b"\n", "one newline, then the end: nobody else holds it")
        self.assertTrue(self.connects(first) and self.connects(second))
        for _ in range(500):
            if os.path.exists(out) and os.path.getsize(out):
                break
            time.sleep(0.02)
        with open(out) as f:
            self.assertEqual(f.read(), "5 closed\n")

    def test_sd_notify_one_ready_from_the_chain_after_the_last_listen(self):
        for name in ("notify", "@toolkit-ready-%d" % os.getpid()):
            with self.subTest(notify_socket=name):
                receiver, address = self.receiver(name)
                first, second = self.path("a" + name[-3:]), self.path("b" + name[-3:])
                env = dict(os.environ, NOTIFY_SOCKET=address)
                process, _ = self.start([applet_link(APPLET), "--sd-notify", "--systemd-compatibility", first,
                                         APPLET, "--sd-notify",
                                         "--systemd-compatibility", second, "sleep", "30"], env=env)
                got = self.datagrams(receiver, 20)
                self.assertEqual(got, [(b"READY=1", process.pid)])
                self.assertTrue(self.connects(first) and self.connects(second))

    def test_readiness_asked_of_the_first_link_waits_for_the_last(self):
        receiver, address = self.receiver()
        first, second = self.path("a"), self.path("b")
        env = dict(os.environ, NOTIFY_SOCKET=address)
        process, _ = self.start([applet_link(APPLET), "--sd-notify", "--systemd-compatibility", first, APPLET,
                                 "--systemd-compatibility", second, "sleep", "30"], env=env)
        self.assertEqual(self.datagrams(receiver, 20), [(b"READY=1", process.pid)])
        self.assertTrue(self.connects(second), "the second socket listens by the time READY=1 is sent")
        self.assertTrue(self.connects(first))

    def test_a_failing_chain_says_nothing(self):
        receiver, address = self.receiver()
        first = self.path("a")
        env = dict(os.environ, NOTIFY_SOCKET=address)
        result = run([applet_link(APPLET), "--sd-notify", first, APPLET, "--systemd-compatibility",
                      self.path("missing/b"), "true"], env=env)
        self.assertFatal(result, APPLET, FAILURE, self.path("missing/b"))
        self.assertEqual(self.datagrams(receiver, 1), [])
        self.assertFalse(os.path.lexists(first))

    def test_a_link_failing_after_the_listen_signals_nothing(self):
        """Readiness waits for the end of the chain: a later link that fails
        (a connect nobody answers) leaves the supervisor told nothing."""
        sock, nobody = self.path("s"), self.path("nobody-there")
        later = ["local-stream-socket-connect", nobody, "true"]
        receiver, address = self.receiver()
        result = run([applet_link(APPLET), "--sd-notify", sock] + later, env=dict(os.environ, NOTIFY_SOCKET=address))
        self.assertFatal(result, "local-stream-socket-connect", FAILURE, nobody)
        self.assertEqual(self.datagrams(receiver, 1), [])
        process, read_end = self.start([applet_link(APPLET), "--notify-fd", "5", sock] + later, notify_fd=5)
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.read(), b"", "no newline before the end of the pipe")
        self.assertEqual(process.wait(timeout=20), FAILURE)
        self.assertFalse(os.path.lexists(sock))

    def test_an_accept_link_that_cannot_serve_signals_nothing(self):
        """With an accept link, readiness waits until it has checked its listeners."""
        sock = self.path("s")
        later = ["local-seqpacket-socket-accept", "cat"]
        receiver, address = self.receiver()
        result = run([applet_link(APPLET), "--sd-notify", sock] + later, env=dict(os.environ, NOTIFY_SOCKET=address))
        self.assertFatal(result, "local-seqpacket-socket-accept", FAILURE, "descriptor 3", "SOCK_SEQPACKET")
        self.assertEqual(self.datagrams(receiver, 1), [])
        process, read_end = self.start([applet_link(APPLET), "--notify-fd", "5", sock] + later, notify_fd=5)
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.read(), b"")
        self.assertEqual(process.wait(timeout=20), FAILURE)

    def test_with_an_accept_link_the_server_signals_once(self):
        """READY=1 comes from the server once it serves, never from the children
        it forks to go on with the chain (fdmove after the accept link)."""
        sock = self.path("s")
        receiver, address = self.receiver()
        process, _ = self.start([applet_link(APPLET), "--sd-notify", sock, "local-stream-socket-accept",
                                 "fdmove", "2", "2", "cat"], env=dict(os.environ, NOTIFY_SOCKET=address))
        got = self.datagrams(receiver, 20)
        with open(f"/proc/{process.pid}/comm") as comm:
            self.assertEqual(comm.read(), "lstream-accept\n", "the server signals, as itself")
        for word in (b"one", b"two"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(10)
                client.connect(sock)  # at once: the server serves by now
                client.sendall(word)
                client.shutdown(socket.SHUT_WR)
                self.assertEqual(client.recv(100), word)
        got += self.datagrams(receiver, 0.5)
        self.assertEqual(got, [(b"READY=1", process.pid)])

    def test_a_notification_reader_gone_is_111_not_a_signal(self):
        """The read end of the notification pipe is closed: one FATAL line (not a
        death by SIGPIPE), nothing sent to NOTIFY_SOCKET after it, no program,
        no socket file."""
        sock = self.path("s")
        receiver, address = self.receiver()
        process, _ = self.start([applet_link(APPLET), "--notify-fd", "5", "--sd-notify", sock, "echo", "ran"],
                                env=dict(os.environ, NOTIFY_SOCKET=address), notify_fd=5,
                                stdout=subprocess.PIPE, reader=False)
        out, err = process.communicate(timeout=20)
        self.assertEqual((process.returncode, out, err.decode()),
                         (FAILURE, b"", f"{APPLET}: FATAL: --notify-fd descriptor 5: Broken pipe\n"))
        self.assertEqual(self.datagrams(receiver, 0.5), [])
        self.assertFalse(os.path.lexists(sock))

    def test_what_is_missing_is_refused_before_the_socket_exists(self):
        sock = self.path("s")
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        self.case(APPLET, ["--sd-notify", sock, "true"], env=env, status=FAILURE,
                  fatal=("--sd-notify", "NOTIFY_SOCKET is not set"))
        self.case(APPLET, ["--notify-fd", "9", sock, "true"], status=FAILURE,
                  fatal=("--notify-fd", "descriptor 9 is not open"))
        # Named by the link that has the option, not by the last link of the chain.
        self.case(APPLET, ["--sd-notify", sock, "fdmove", "1", "1", "true"], env=env, status=FAILURE,
                  fatal=("--sd-notify", "NOTIFY_SOCKET is not set"))
        self.assertFalse(os.path.lexists(sock))
        # Empty, or no socket address: the supervisor's mistake, 111, naming the option.
        for value in ("", "@", "x" * 200):
            with self.subTest(NOTIFY_SOCKET=value):
                self.case(APPLET, ["--sd-notify", sock, "true"], env=dict(env, NOTIFY_SOCKET=value),
                          status=FAILURE, fatal="--sd-notify: NOTIFY_SOCKET: ")
        self.assertFalse(os.path.lexists(sock))

    def test_notify_socket_as_the_chain_started_with_it(self):
        """A later link may unset NOTIFY_SOCKET, so that the program does not
        notify a second time, or change it: READY=1 still goes, once, to the
        socket the chain was started with."""
        sock = self.path("s")
        receiver, address = self.receiver()
        for later in (["unsetenv", "NOTIFY_SOCKET"], ["setenv", "NOTIFY_SOCKET", self.path("elsewhere")]):
            with self.subTest(later=later):
                result = run([applet_link(APPLET), "--sd-notify", sock] + later +
                             ["sh", "-c", 'echo "${NOTIFY_SOCKET-unset}"'],
                             env=dict(os.environ, NOTIFY_SOCKET=address))
                self.assertEqual((result.returncode, result.stderr), (0, ""))
                self.assertEqual(result.stdout, "unset\n" if later[0] == "unsetenv" else self.path("elsewhere") + "\n")
                self.assertEqual([data for data, _ in self.datagrams(receiver, 5)], [b"READY=1"])

    def test_the_socket_cannot_go_where_the_notification_does(self):
        sock = self.path("s")
        result = run([applet_link(APPLET), "--notify-fd", "3", sock, "true"])
        # descriptor 3 is not open here: the first check says so
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3 is not open")
        try:
            os.fstat(3)
            self.skipTest("descriptor 3 is in use in the test process")
        except OSError:
            pass
        three = os.open(os.devnull, os.O_WRONLY)  # the lowest free number: 3
        try:
            self.assertEqual(three, 3)
            result = subprocess.run([applet_link(APPLET), "--notify-fd", "3", sock, "true"],
                                    capture_output=True, text=True, timeout=20, pass_fds=(three,))
        finally:
            os.close(three)
        self.assertFatal(result, APPLET, USAGE, "--notify-fd", "descriptor 3 is where the socket goes")
        self.assertFalse(os.path.lexists(sock))

    def test_two_descriptors_in_one_chain_are_a_usage_error(self):
        self.case(APPLET, ["--notify-fd", "5", self.path("a"), APPLET, "--notify-fd", "6", self.path("b"), "true"],
                  status=USAGE, fatal=("--notify-fd", "5 and 6"))

    def test_under_s6_supervise_the_service_is_up_when_it_listens(self):
        supervise = which("s6-supervise")
        svwait = which("s6-svwait")
        svc = which("s6-svc")
        service = self.path("service")
        os.mkdir(service)
        sock = self.path("s6.sock")
        with open(os.path.join(service, "notification-fd"), "w") as f:
            f.write("5\n")
        run_script = os.path.join(service, "run")
        with open(run_script, "w") as f:
            f.write(f"#!/bin/sh\nexec {applet_link(APPLET)} --notify-fd 5 {sock} "
                    f"local-stream-socket-accept cat\n")
        os.chmod(run_script, 0o755)
        process = subprocess.Popen([supervise, service], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)

        def stop():
            subprocess.run([svc, "-dx", service], timeout=20, capture_output=True)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.addCleanup(stop)
        for _ in range(250):  # s6-supervise makes its control files first
            if os.path.exists(os.path.join(service, "supervise", "status")):
                break
            time.sleep(0.02)
        waited = subprocess.run([svwait, "-U", "-t", "20000", service], capture_output=True, timeout=30)
        self.assertEqual(waited.returncode, 0, waited.stderr)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            client.connect(sock)  # at once: it listened before s6 was told
            client.sendall(b"up\n")
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(client.recv(100), b"up\n")

class ManualPageTest(ToolkitTestCase):

    def test_every_long_option_of_help_is_in_the_manual_page(self):
        with open(os.path.join(SOURCE_DIR, "manpages", APPLET + ".1")) as f:
            page = f.read().replace("\\-", "-")
        result = run([TOOLKIT, APPLET, "--help"])
        self.assertClean(result)
        options = set(re.findall(r"--[a-z][a-z-]*", result.stdout))
        self.assertGreater(len(options), 10)
        for option in sorted(options):
            self.assertIn(option, page)

    def test_manual_page_is_clean(self):
        page = os.path.join(SOURCE_DIR, "manpages", APPLET + ".1")
        for checker in (["mandoc", "-T", "lint", page], ["groff", "-man", "-ww", "-z", page]):
            with self.subTest(checker=checker[0]):
                which(checker[0])
                self.assertClean(run(checker), "")


class RaceTest(unittest.TestCase):
    """tests/race/race.py against this applet: a swapper keeps replacing PATH
    with a symbolic link to a victim file; the victim never changes."""

    def test_victim_never_changes(self):
        if os.geteuid() != 0:
            self.skipTest("the race harness gives files away: needs root")
        harness = os.path.join(SOURCE_DIR, "tests", "race", "race.py")
        result = run([PYTHON, harness, "--iterations", "1500", "--seconds", "40", applet_link(APPLET)], timeout=120)
        print(result.stdout, end="", file=sys.stderr)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("victim changed 0 times", result.stdout)

    def test_victim_never_changes_when_a_directory_is_swapped(self):
        """The swapper makes PATH's directory trade places with a symbolic link
        to a directory holding a victim of the same name: a regular file, or a
        live server's socket. Never unlinked, chmod'ed or chown'ed (at most
        12 s for each)."""
        if os.geteuid() != 0:
            self.skipTest("the race harness gives files away: needs root")
        harness = os.path.join(SOURCE_DIR, "tests", "race", "race.py")
        for victim in ("file", "socket"):
            with self.subTest(victim=victim):
                result = run([PYTHON, harness, "--attack", "directory", "--victim", victim, "--iterations", "2500",
                              "--seconds", "12", applet_link(APPLET)], timeout=60)
                print(result.stdout, end="", file=sys.stderr)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn(f"victim {victim}", result.stdout)
                self.assertIn("victim changed 0 times", result.stdout)


if __name__ == "__main__":
    main()
