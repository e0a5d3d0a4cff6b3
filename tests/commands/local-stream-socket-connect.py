"""End-to-end tests of local-stream-socket-connect: the program at the end of
the chain talks to real servers (our own listen + accept, unixserver,
s6-ipcserver, socat, a Python server) over descriptors 6 and 7 and reports
what it inherited."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, DESCRIBE_CLIENT, FAILURE, NOT_FOUND, TALK, TOOLKIT, USAGE, ToolkitTestCase,
                     main, probe, which)

APPLET = "local-stream-socket-connect"
LISTEN = "local-stream-socket-listen"
ACCEPT = "local-stream-socket-accept"

# The UCSPI variables the end of the chain sees ("-" for unset).
VARIABLES = ["PROTO", "UNIXREMOTEPATH", "UNIXREMOTEPID", "UNIXREMOTEEUID", "UNIXREMOTEEGID",
             "UNIXLOCALPATH", "UNIXLOCALPID", "UNIXLOCALUID", "UNIXLOCALGID", "UNIXREMOTEGIDLIST"]
SHOW = ["sh", "-c", "for v in " + " ".join(VARIABLES) + '; do eval "echo $v=\\${$v-unset}"; done']

# A handler for a server that gives it the connection on 0 and 1.
PONG = "#!/bin/sh\nread line\necho \"PONG:$line\"\n"


class ConnectTest(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-lconnect-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name="s"):
        return os.path.join(self.dir, name)

    def script(self, name, text):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def server(self, argv, address):
        """Start the server ARGV and wait (at most 20 s) until ADDRESS takes connections."""
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        self.addCleanup(self.stop, process)
        for _ in range(400):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe_socket:
                try:
                    probe_socket.connect(address)
                    return process
                except (FileNotFoundError, ConnectionRefusedError):
                    if process.poll() is not None:
                        self.fail(f"the server ended: {process.stderr.read()!r}")
                    time.sleep(0.05)
        self.fail(f"{argv[0]} never took a connection")

    @staticmethod
    def stop(process):
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()

    def python_server(self, address):
        """A listening socket of the test itself at ADDRESS."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(address)
        listener.listen(8)
        listener.settimeout(20)
        return listener

    # --- the connection the next program inherits -----------------------------

    def test_descriptors_6_and_7_are_the_connection(self):
        path = self.path()
        self.python_server(path)
        self.case(APPLET, [path] + probe(DESCRIBE_CLIENT),
                  stdout="0 1 2 6 7\nsame socket True\n"
                         "6 AF_UNIX SOCK_STREAM blocking True cloexec False\n"
                         "7 AF_UNIX SOCK_STREAM blocking True cloexec False\n")

    def test_replaces_what_was_on_6_and_7(self):
        path = self.path()
        self.python_server(path)
        self.case(APPLET, [path] + probe(DESCRIBE_CLIENT),
                  wrap=lambda argv: ["sh", "-c", 'exec 6</dev/null 7>/dev/null; exec "$@"', "sh"] + argv,
                  stdout="0 1 2 6 7\nsame socket True\n"
                         "6 AF_UNIX SOCK_STREAM blocking True cloexec False\n"
                         "7 AF_UNIX SOCK_STREAM blocking True cloexec False\n")

    def test_environment_names_the_server(self):
        path = self.path()
        self.python_server(path)
        # The listener is this test process: its pid and credentials.
        stdout = (f"PROTO=UNIX\nUNIXREMOTEPATH={path}\nUNIXREMOTEPID={os.getpid()}\n"
                  f"UNIXREMOTEEUID={os.geteuid()}\nUNIXREMOTEEGID={os.getegid()}\n"
                  "UNIXLOCALPATH=unset\nUNIXLOCALPID=unset\nUNIXLOCALUID=unset\nUNIXLOCALGID=unset\n"
                  "UNIXREMOTEGIDLIST=unset\n")
        self.case(APPLET, [path] + SHOW, stdout=stdout)
        # Variables of some other connection are not passed on.
        self.case(APPLET, [path] + SHOW, stdout=stdout,
                  extra_env={"UNIXLOCALPATH": "/elsewhere", "UNIXLOCALPID": "1", "UNIXLOCALUID": "2",
                             "UNIXLOCALGID": "3", "UNIXREMOTEGIDLIST": "4,5", "UNIXREMOTEPID": "6"})

    def test_credentials_of_a_server_of_another_account(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to start a server as nobody")
        os.chmod(self.dir, 0o777)
        path = self.path()
        import pwd
        nobody = pwd.getpwnam("nobody")
        server = self.server([TOOLKIT, "setuidgid", "nobody", LISTEN, path, ACCEPT, "cat"], path)
        self.case(APPLET, [path, "printenv", "UNIXREMOTEPID", "UNIXREMOTEEUID", "UNIXREMOTEEGID"],
                  stdout=f"{server.pid}\n{nobody.pw_uid}\n{nobody.pw_gid}\n")

    def test_abstract_socket(self):
        name = f"toolkit-lconnect-{os.getpid()}"
        listener = self.python_server("\0" + name)
        self.case(APPLET, ["@" + name, "printenv", "UNIXREMOTEPATH"], stdout=f"@{name}\n")
        listener.accept()[0].close()

    # --- real servers ------------------------------------------------------------

    def test_our_own_listen_and_accept(self):
        path = self.path()
        self.server([TOOLKIT, LISTEN, path, ACCEPT, self.script("pong", PONG)], path)
        self.case(APPLET, [path] + TALK, stdout="PONG:PING\n")

    def test_unixserver(self):
        unixserver = which("unixserver")
        path = self.path()
        self.server([unixserver, path, self.script("pong", PONG)], path)
        self.case(APPLET, [path] + TALK, stdout="PONG:PING\n")

    def test_s6_ipcserver(self):
        s6_ipcserver = which("s6-ipcserver")
        path = self.path()
        self.server([s6_ipcserver, path, self.script("pong", PONG)], path)
        self.case(APPLET, [path] + TALK, stdout="PONG:PING\n")

    def test_socat_server(self):
        socat = which("socat")
        path = self.path()
        self.server([socat, f"UNIX-LISTEN:{path},fork", "EXEC:" + self.script("pong", PONG)], path)
        self.case(APPLET, [path] + TALK, stdout="PONG:PING\n")

    def test_health_check_of_the_manual_page(self):
        path = self.path("app.sock")
        self.server([TOOLKIT, LISTEN, path, ACCEPT, "sh", "-c", 'read line; test "$line" = PING && echo PONG'],
                    path)
        self.case(APPLET, [path, "sh", "-c", 'printf "PING\\n" >&7; head -n1 <&6'], stdout="PONG\n")

    # --- failures -------------------------------------------------------------------

    def test_usage_errors(self):
        self.case(APPLET, [], status=USAGE, fatal="PATH: missing operand")
        self.case(APPLET, [self.path()], status=USAGE, fatal="NEXT-PROG: missing next program")
        self.case(APPLET, ["/" + "x" * 200, "true"], status=USAGE, fatal=("PATH", "the limit is 107"))
        self.case(APPLET, ["", "true"], status=USAGE, fatal=("PATH", "empty socket name"))
        self.case(APPLET, ["--bogus", self.path(), "true"], status=USAGE, fatal=("bogus", "unknown option"))

    def test_nothing_there(self):
        path = self.path()
        self.case(APPLET, [path, "echo", "ran"], status=FAILURE, stdout="",
                  stderr=f"{APPLET}: FATAL: {path}: No such file or directory\n")
        self.case(APPLET, ["@toolkit-nothing-here-" + str(os.getpid()), "echo", "ran"], status=FAILURE,
                  stdout="", fatal="Connection refused")

    def test_refused_by_a_socket_nobody_listens_on(self):
        path = self.path()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
            stale.bind(path)
        self.case(APPLET, [path, "echo", "ran"], status=FAILURE, stdout="",
                  stderr=f"{APPLET}: FATAL: {path}: Connection refused\n")

    def test_not_a_socket(self):
        path = self.script("plain", "not a socket\n")
        self.case(APPLET, [path, "echo", "ran"], status=FAILURE, stdout="",
                  fatal=(path, "Connection refused"))

    def test_permission_denied(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to become nobody")
        os.chmod(self.dir, 0o755)
        path = self.path()
        self.python_server(path)
        os.chmod(path, 0o600)
        self.case("setuidgid", ["nobody", APPLET, path, "echo", "ran"], status=FAILURE, stdout="",
                  stderr=f"{APPLET}: FATAL: {path}: Permission denied\n")

    def test_next_program_not_found_or_not_executable(self):
        path = self.path()
        listener = self.python_server(path)
        self.case(APPLET, [path, "no-such-program-anywhere"], status=NOT_FOUND,
                  fatal="no-such-program-anywhere: not found in PATH")
        plain = self.script("plain", "#!/bin/sh\n")
        os.chmod(plain, 0o644)
        self.case(APPLET, [path, plain], status=CANNOT_RUN, fatal=(plain, "Permission denied"))
        # Not found while planning: the server never saw a connection.
        listener.settimeout(0)
        with self.assertRaises(BlockingIOError):
            listener.accept()

    def test_whole_chain_is_planned_before_a_listener_acts(self):
        node = self.path("node")
        for args, status, message in (
                (["/" + "x" * 200, "true"], USAGE, "PATH: socket name is 201 bytes; the limit is 107"),
                ([self.path(), "no-such-program-anywhere"], NOT_FOUND,
                 "no-such-program-anywhere: not found in PATH")):
            with self.subTest(args=args):
                self.case(LISTEN, [node, APPLET] + args, status=status, stdout="",
                          stderr=f"{APPLET}: FATAL: {message}\n")
                self.assertFalse(os.path.lexists(node), "the socket file was left behind")

    def test_help(self):
        for result in self.case(APPLET, ["--help"]):
            self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} PATH NEXT-PROG"))
            self.assertIn("Process name while it runs: lstream-connect\n", result.stdout)


if __name__ == "__main__":
    main()
