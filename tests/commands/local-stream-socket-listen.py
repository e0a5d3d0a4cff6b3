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
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, PYTHON, SOURCE_DIR, USAGE, TOOLKIT,
                     ToolkitTestCase, applet_link, forms, main, open_descriptors, probe, run, which)

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

# The descriptors the end of the chain has, one line (the one listdir used is gone).
LIST_FDS = textwrap.dedent("""
    import os
    def is_open(fd):
        try:
            os.fstat(fd)
            return True
        except OSError:
            return False
    print(" ".join(str(fd) for fd in sorted(int(n) for n in os.listdir("/proc/self/fd"))
                   if is_open(fd)))
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
        """(label, argv prefix, a fresh socket path) for each invocation form."""
        return [(label, prefix, self.path(label)) for label, prefix in forms(APPLET)]

    def assertNoFile(self, path):
        self.assertFalse(os.path.lexists(path), f"{path} was left behind")

    def describe(self, argv):
        result = run(argv + probe(DESCRIBE_FD3))
        self.assertClean(result)
        return result.stdout.splitlines()

    # --- the socket the next program inherits -------------------------------

    def test_socket_on_fd3_listening_inheritable_blocking(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                lines = self.describe(prefix + [path])
                self.assertEqual(lines[:4], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1",
                                             "blocking True", "cloexec False"])
                self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))

    def test_only_fd3_is_added(self):
        # Every descriptor the applet opened for itself is close-on-exec.
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, "sh", "-c", "ls /proc/$$/fd"])
                self.assertClean(result)
                self.assertEqual(result.stdout.split(), ["0", "1", "2", "3"])

    def test_no_internal_descriptor_for_a_later_link(self):
        # Descriptor 4 is not open after the listen step: a later link that
        # moves it fails, and the undo removes the socket file.
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, "fdmove", "5", "4", "sh", "-c", "ls -l /proc/$$/fd"])
                self.assertFatal(result, "fdmove", FAILURE, "descriptor 4", "Bad file descriptor")
                self.assertEqual(result.stdout, "")
                self.assertNoFile(path)

    def test_only_the_sockets_reach_the_next_program(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path] + probe(LIST_FDS))
                self.assertClean(result, "0 1 2 3\n")
                os.unlink(path)
                second = path + "-2"
                result = run(prefix + ["--systemd-compatibility", path] +
                             [APPLET, "--systemd-compatibility", second] + probe(LIST_FDS))
                self.assertClean(result, "0 1 2 3 4\n")

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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                closed = ["sh", "-c", 'exec 2>&-; exec "$@"', "sh"]
                lines = self.describe(closed + prefix + [path])
                self.assertEqual(lines[:2], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1"])

    def test_replaces_what_was_on_fd3(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                opened = ["sh", "-c", 'exec 3</dev/null; exec "$@"', "sh"]
                lines = self.describe(opened + prefix + [path])
                self.assertEqual(lines[:2], [f"AF_UNIX SOCK_STREAM {path!r}", "listening 1"])

    def test_pass_credentials_and_security(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                self.assertEqual(self.describe(prefix + [path])[4:6], ["passcred 0", "passsec 0"])
                os.unlink(path)
                lines = self.describe(prefix + ["--pass-credentials", "--pass-security", path])
                self.assertEqual(lines[4:6], ["passcred 1", "passsec 1"])

    def backlog_seen_by_ss(self, argv, path):
        which("ss")
        result = run(argv + ["ss", "-xlH", "src", path])
        self.assertClean(result)
        fields = result.stdout.split()
        self.assertEqual(fields[4], path, result.stdout)
        return int(fields[3])  # Send-Q of a listening socket: its backlog

    def test_backlog_reaches_listen(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                self.assertEqual(self.backlog_seen_by_ss(prefix + [path], path), 5)
                os.unlink(path)
                self.assertEqual(self.backlog_seen_by_ss(prefix + ["--backlog", "17", path], path), 17)
                os.unlink(path)
                self.assertEqual(self.backlog_seen_by_ss(prefix + ["-b9", path], path), 9)
                os.unlink(path)
                self.assertEqual(self.backlog_seen_by_ss(prefix + ["--backlog=0x20", path], path), 32)

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
                result = run([applet_link(APPLET), path, "echo", "ran"])
                self.assertFatal(result, APPLET, USAGE, "PATH", path, "does not end in a file name")
                self.assertEqual(result.stdout, "")
                self.assertEqual(os.listdir(self.path("sub")), [])

    def test_relative_path_in_the_current_directory(self):
        result = run([applet_link(APPLET), "--mode", "0600", "s", "sh", "-c", "readlink -f s"], cwd=self.dir)
        self.assertClean(result, os.path.realpath(self.path("s")) + "\n")
        self.assertEqual(stat.S_IMODE(os.lstat(self.path("s")).st_mode), 0o600)

    def test_a_symbolic_link_to_the_directory_is_followed_once(self):
        """A link as the last directory of PATH is followed at the start (and
        the socket keeps PATH as its name)."""
        os.mkdir(self.path("real"))
        os.symlink(self.path("real"), self.path("link"))
        path = os.path.join(self.path("link"), "s")
        result = run([applet_link(APPLET), "--mode", "0640", path, PYTHON, "-c",
                      "import socket; print(socket.socket(fileno=3).getsockname())"])
        self.assertClean(result, path + "\n")
        self.assertTrue(stat.S_ISSOCK(os.lstat(os.path.join(self.path("real"), "s")).st_mode))
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.path("real"), "s")).st_mode), 0o640)

    def test_abstract_socket_refuses_file_options(self):
        for label, prefix in forms(APPLET):
            for option in (["--mode", "0600"], ["-m0600"], ["--uid", "1"], ["-g", "1"],
                           ["--user", "root"], ["--group", "root"]):
                with self.subTest(form=label, option=option):
                    result = run(prefix + option + ["@toolkit-test", "true"])
                    self.assertFatal(result, APPLET, USAGE, "abstract")

    # --- the socket file: mode, owner, group -----------------------------------

    def test_mode_is_exact_whatever_the_umask(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                # The umask of the caller must not matter, and it is restored for the next program.
                result = run(["sh", "-c", 'umask 077; exec "$@"', "sh"] + prefix + ["--mode", "0666", path, "sh", "-c", "umask"])
                self.assertClean(result, "0077\n")
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o666)
                os.unlink(path)
                result = run(prefix + ["-m", "0640", path, "true"])
                self.assertClean(result)
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o640)

    def test_mode_without_option_follows_umask(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(["sh", "-c", 'umask 027; exec "$@"', "sh"] + prefix + [path, "true"])
                self.assertClean(result)
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o750)

    def test_decimal_mode_warns_and_is_taken_as_written(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + ["--mode", "660", path, "true"])
                self.assertExit(result, 0)
                self.assertEqual(result.stderr,
                                 f"{APPLET}: WARNING: --mode: 660 is decimal (01224 in octal); write 0660 if octal was meant\n")
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o1224)

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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + ["--uid", "12345", "--gid", "23456", "--mode", "0600", path, "true"])
                self.assertClean(result)
                status = os.lstat(path)
                self.assertEqual((status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)), (12345, 23456, 0o600))
                os.unlink(path)
                # The other one stays unchanged.
                self.assertClean(run(prefix + ["-u", "4321", path, "true"]))
                self.assertEqual((os.lstat(path).st_uid, os.lstat(path).st_gid), (4321, os.getegid()))
                os.unlink(path)
                self.assertClean(run(prefix + ["-g4321", path, "true"]))
                self.assertEqual((os.lstat(path).st_uid, os.lstat(path).st_gid), (os.geteuid(), 4321))

    def test_owner_and_group_by_name(self):
        self.need_root()
        try:
            user, group = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
        except KeyError:
            self.skipTest("no account nobody or no group nogroup")
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + ["--user", "nobody", "--group", "nogroup", path, "true"])
                self.assertClean(result)
                self.assertEqual((os.lstat(path).st_uid, os.lstat(path).st_gid), (user.pw_uid, group.gr_gid))

    def test_both_forms_of_owner_is_usage_error(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                self.assertFatal(run(prefix + ["--uid", "1", "--user", "root", path, "true"]), APPLET, USAGE, "--user")
                self.assertFatal(run(prefix + ["--group", "root", "-g", "0", path, "true"]), APPLET, USAGE, "--group")
                self.assertNoFile(path)

    def test_unknown_account_or_group_stops_before_the_socket(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                self.assertFatal(run(prefix + ["--user", "no-such-user-xyz", path, "true"]),
                                 APPLET, FAILURE, "no-such-user-xyz")
                self.assertFatal(run(prefix + ["--group", "no-such-group-xyz", path, "true"]),
                                 APPLET, FAILURE, "no-such-group-xyz")
                self.assertNoFile(path)

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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
                    old.bind(path)
                # The stale file refuses connections; the one now at PATH must take them.
                code = "import socket, sys\nc = socket.socket(socket.AF_UNIX)\nc.connect(sys.argv[1])\nprint('connected')"
                result = run(prefix + [path] + probe(code) + [path])
                self.assertClean(result, "connected\n")

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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                with open(path, "w") as f:
                    f.write("data\n")
                os.chmod(path, 0o640)
                before = os.lstat(path)
                result = run(prefix + ["--mode", "0666", "--uid", "12345", path, "true"])
                self.assertFatal(result, APPLET, FAILURE, path, "regular file")
                after = os.lstat(path)
                self.assertEqual((after.st_ino, after.st_mode, after.st_uid, after.st_mtime_ns),
                                 (before.st_ino, before.st_mode, before.st_uid, before.st_mtime_ns))
                with open(path) as f:
                    self.assertEqual(f.read(), "data\n")

    def test_directory_left_exactly_as_it_was(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                os.mkdir(path, 0o750)
                open(os.path.join(path, "inside"), "w").close()
                before = os.lstat(path)
                result = run(prefix + ["--mode", "0666", path, "true"])
                self.assertFatal(result, APPLET, FAILURE, path, "directory")
                after = os.lstat(path)
                self.assertEqual((after.st_ino, after.st_mode), (before.st_ino, before.st_mode))
                self.assertEqual(os.listdir(path), ["inside"])

    def test_symlink_to_victim_changes_nothing(self):
        self.need_root()
        victim = self.path("victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.chmod(victim, 0o600)
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                os.symlink(victim, path)
                result = run(prefix + ["--mode", "0666", "--uid", "12345", "--gid", "12345", path, "true"])
                self.assertFatal(result, APPLET, FAILURE, path, "symbolic link")
                self.assertEqual(os.readlink(path), victim)
                status = os.lstat(victim)
                self.assertEqual((stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid), (0o600, 0, 0))
                with open(victim) as f:
                    self.assertEqual(f.read(), "precious\n")

    def test_dangling_symlink_is_not_followed(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                target = self.path("target-" + os.path.basename(path))
                os.symlink(target, path)
                self.assertFatal(run(prefix + [path, "true"]), APPLET, FAILURE, "symbolic link")
                self.assertNoFile(target)

    # --- nothing left behind after a failure ----------------------------------

    def test_node_removed_when_next_program_cannot_run(self):
        # Found while planning, but execve refuses it: a file without "#!".
        script = self.path("not-a-program")
        with open(script, "w") as f:
            f.write("echo hi\n")
        os.chmod(script, 0o755)
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, script])
                self.assertFatal(result, APPLET, CANNOT_RUN, script)
                self.assertNoFile(path)

    def test_node_removed_when_the_owner_cannot_be_changed(self):
        # Unprivileged, the chown after bind fails: the socket file must go with it.
        self.need_root()
        os.chmod(self.dir, 0o777)
        for label, prefix in forms("setuidgid"):
            with self.subTest(form=label):
                path = self.path(label)
                # APPLET runs in the same process as setuidgid, after the drop.
                result = run(prefix + ["nobody", APPLET, "--uid", "0", path, "true"])
                self.assertFatal(result, APPLET, FAILURE, path, "Operation not permitted")
                self.assertNoFile(path)

    def test_node_removed_when_a_later_link_fails(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, "fdmove", "5", "9", "true"])
                self.assertFatal(result, "fdmove", FAILURE, "9")
                self.assertNoFile(path)

    def test_node_removed_when_a_later_listen_fails(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, APPLET, path, "true"])
                self.assertFatal(result, APPLET, FAILURE, "in use by a running server")
                self.assertNoFile(path)

    def test_undo_unaffected_by_a_later_socket_on_a_low_descriptor(self):
        # The second link puts its socket on descriptor 4; the undo of the
        # first one must still find its own file, in its own directory.
        script = self.path("not-a-program")
        with open(script, "w") as f:
            f.write("echo hi\n")
        os.chmod(script, 0o755)
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                first, second = self.path(label + "-a"), self.path(label + "-b")
                result = run(prefix + ["--systemd-compatibility", first] +
                             [APPLET, "--systemd-compatibility", second, "./not-a-program"],
                             cwd=self.dir)
                self.assertFatal(result, APPLET, CANNOT_RUN, "./not-a-program")
                self.assertEqual(result.stdout, "")
                self.assertNoFile(first)
                self.assertNoFile(second)

    def test_stale_socket_left_when_chain_fails_before_running(self):
        # A failure while planning changes nothing, not even a stale socket.
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
                    old.bind(path)
                before = os.lstat(path).st_ino
                self.assertFatal(run(prefix + [path, "no-such-program-xyz"]), APPLET, NOT_FOUND)
                self.assertEqual(os.lstat(path).st_ino, before)

    # --- exit statuses and usage errors --------------------------------------

    def test_help(self):
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                result = run(prefix + ["--help"])
                self.assertClean(result)
                for option in ("--backlog", "--uid", "--gid", "--user", "--group", "--mode",
                               "--pass-credentials", "--pass-security", "--upstart-compatibility",
                               "--systemd-compatibility", "--name"):
                    self.assertIn(option, result.stdout)
                self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] PATH NEXT-PROG"))

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
        for label, prefix in forms(APPLET):
            for args, culprit in cases:
                with self.subTest(form=label, args=args):
                    result = run(prefix + args, cwd=self.dir)
                    self.assertExit(result, USAGE)
                    self.assertIn(culprit, result.stderr)
                    self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                    self.assertEqual(os.listdir(self.dir), [])

    def test_path_too_long_states_the_limit(self):
        limit = 107  # sizeof sun_path - 1 on Linux
        for label, prefix, _ in self.each_form():
            with self.subTest(form=label):
                path = "/" + "x" * limit
                result = run(prefix + [path, "true"])
                self.assertFatal(result, APPLET, USAGE, "PATH", f"{limit + 1} bytes", f"limit is {limit}")

    def test_longest_path_works(self):
        for label, prefix, _ in self.each_form():
            with self.subTest(form=label):
                path = os.path.join(self.dir, "y" * (107 - len(self.dir) - 1))
                self.assertEqual(len(path), 107)
                self.assertClean(run(prefix + [path, "true"]))
                self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
                os.unlink(path)

    def test_next_program_not_found_leaves_nothing(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                self.assertFatal(run(prefix + [path, "no-such-program-xyz"]), APPLET, NOT_FOUND, "no-such-program-xyz")
                self.assertNoFile(path)
                # Also at the end of a chain of applets.
                result = run(prefix + [path, "setuidgid", "root", "no-such-program-xyz"])
                self.assertExit(result, NOT_FOUND)
                self.assertNoFile(path)

    def test_next_program_cannot_be_executed_leaves_nothing(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, self.dir])
                self.assertFatal(result, APPLET, CANNOT_RUN)
                self.assertNoFile(path)

    def test_bind_failure_is_111(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                missing = os.path.join(path, "no-such-dir", "socket")
                self.assertFatal(run(prefix + [missing, "true"]), APPLET, FAILURE, missing)

    # --- the environment -------------------------------------------------------

    def printenv(self, argv, env_extra=None, names=("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                                     "UPSTART_FDS", "UPSTART_EVENTS")):
        code = "import os\nfor n in %r: print(n, os.environ.get(n))\nprint('pid', os.getpid())" % (names,)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "UPSTART_"))}
        env.update(env_extra or {})
        result = run(argv + probe(code), env=env)
        self.assertClean(result)
        lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
        return lines

    def test_without_compatibility_options_environment_is_left_alone(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                seen = self.printenv(prefix + [path], {"LISTEN_FDS": "7", "LISTEN_PID": "1"})
                self.assertEqual((seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["UPSTART_FDS"]), ("7", "1", "None"))

    def test_upstart_compatibility(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                seen = self.printenv(prefix + ["--upstart-compatibility", path])
                self.assertEqual((seen["UPSTART_FDS"], seen["UPSTART_EVENTS"], seen["LISTEN_FDS"]), ("3", "socket", "None"))

    def test_systemd_compatibility_single(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                seen = self.printenv(prefix + ["--systemd-compatibility", path])
                self.assertEqual((seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["LISTEN_FDNAMES"]),
                                 ("1", seen["pid"], "None"))

    def test_systemd_compatibility_ignores_a_set_for_another_process(self):
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                seen = self.printenv(prefix + ["--systemd-compatibility", path],
                                     {"LISTEN_FDS": "2", "LISTEN_PID": "1", "LISTEN_FDNAMES": "a:b"})
                self.assertEqual((seen["LISTEN_FDS"], seen["LISTEN_PID"], seen["LISTEN_FDNAMES"]),
                                 ("1", seen["pid"], "unknown"))

    def stack(self, prefix, paths, names=(None, None, None)):
        argv = []
        for path, name in zip(paths, names):
            argv += (prefix if not argv else [APPLET]) + ["--systemd-compatibility"]
            argv += (["--name", name] if name else []) + [path]
        return argv

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
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                paths = [self.path(f"{label}-{i}") for i in range(3)]
                result = run(self.stack(prefix, paths, ("first", None, "third")) + probe(code))
                self.assertClean(result, "".join(f"{3 + i} {p} 1\n" for i, p in enumerate(paths)) +
                                 "3 True first:unknown:third\n")

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
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                paths = [self.path(f"{label}-a"), self.path(f"{label}-b")]
                result = run(self.stack(prefix, paths, ("web", "admin")) + probe(code))
                self.assertClean(result, f"web AF_UNIX SOCK_STREAM {paths[0]}\nadmin AF_UNIX SOCK_STREAM {paths[1]}\n")

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
        for label, prefix in forms(APPLET):
            with self.subTest(form=label):
                paths = [self.path(f"{label}-{i}") for i in range(3)]
                # Names for all three, for some, and for none: libsystemd accepts each set.
                for names, expected in [(("one", "two", "three"), ("one", "two", "three")),
                                        ((None, "two", None), ("unknown", "two", "unknown")),
                                        ((None, None, None), ("unknown", "unknown", "unknown"))]:
                    for p in paths:
                        if os.path.lexists(p):
                            os.unlink(p)
                    result = run(self.stack(prefix, paths, names) + [program])
                    self.assertClean(result, "count 3\n" + "".join(
                        f"fd {3 + i} {name} unix-stream-listening 1\n" for i, name in enumerate(expected))
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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                outer = path + "-outer"
                result = run(probe(code) + [outer] + prefix + ["--systemd-compatibility", "--name", "inner", path, program])
                self.assertClean(result, "count 2\nfd 3 outer unix-stream-listening 1\n"
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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(probe(code) + [path + "-outer"] + prefix +
                             ["--systemd-compatibility", path, "printenv", "LISTEN_FDNAMES", "LISTEN_FDS"])
                self.assertExit(result, 0)
                self.assertEqual(result.stdout, "unknown:unknown\n2\n")
                self.assertEqual(result.stderr, f"{APPLET}: WARNING: LISTEN_FDNAMES: does not match LISTEN_FDS=1; "
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
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + ["--user", "nobody", "--mode", "0600", path, "setuidgid", "nobody", "sh", "-c", shell, path])
                self.assertClean(result, f"{nobody.pw_uid}\nsocket:[\nsocket-file\n")

    def test_inetd_style_with_fdmove(self):
        code = "import socket\ns = socket.socket(fileno=0)\nprint(s.getsockname(), s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))"
        for label, prefix, path in self.each_form():
            with self.subTest(form=label):
                result = run(prefix + [path, "fdmove", "0", "3"] + probe(code))
                self.assertClean(result, f"{path} 1\n")


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

    def stopped_child(self, tracer):
        """The traced listener once it is stopped (at most 10 s of waiting)."""
        for _ in range(200):
            for child in self.strace.children_of(tracer.pid):
                try:
                    with open(f"/proc/{child}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                            return child
                except OSError:
                    pass
            if tracer.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def run_with_swap(self, argv, stop_at, swap, directory):
        """Run ARGV, stopped at the call STOP_AT names to SWAP; DIRECTORY is
        emptied again after the trial run that finds the call."""
        self.prepare(directory)
        where = self.strace.locate(argv, stop_at)
        self.assertIsNotNone(where, f"no {stop_at.syscall} call matching {stop_at.match!r}")
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        self.prepare(directory)
        tracer = subprocess.Popen([self.strace.STRACE, "-f", "-qq", "-e", "signal=none", "-o", os.devnull,
                                   "-e", "trace=" + where.syscall,
                                   "-e", f"inject={where.syscall}:signal=SIGSTOP:when={where.nth_of_syscall}"]
                                  + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            child = self.stopped_child(tracer)
            self.assertIsNotNone(child, "the listener never stopped")
            swap()
            os.kill(child, signal.SIGCONT)
            out, err = tracer.communicate(timeout=20)
        finally:
            if tracer.poll() is None:
                tracer.kill()
                tracer.communicate()
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
