"""End-to-end tests of local-stream-socket-accept: listening sockets made here
and passed as descriptor 3 (or LISTEN_FDS), real clients, and handlers that
report what they inherited."""

import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile

from harness import (FAILURE, NOT_FOUND, USAGE, ToolkitTestCase, applet_link, forms, listening, main,
                     probe, run, which, wait_for)
from servers import (CLIENT_TIMEOUT, WAIT_LIMIT, Server, check_burst, check_limit_held, log_patterns,
                     read_all, send_and_read)

APPLET = "local-stream-socket-accept"
ACCEPT = applet_link(APPLET)

# The handler that reports what it inherited, as one JSON line on the connection.
REPORT = probe(r"""
import json, os, fcntl, stat
fds = {}
for name in os.listdir('/proc/self/fd'):
    try:
        target = os.readlink('/proc/self/fd/' + name)
    except OSError:
        continue  # the directory listing's own descriptor, already closed
    if target.startswith('/proc/') and target.endswith('/fd'):
        continue
    fds[name] = target
status = dict(line.split(':\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\t' in line)
print(json.dumps({
    'env': dict(os.environ),
    'fds': fds,
    'nonblocking': [bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) for fd in (0, 1)],
    'same': os.fstat(0).st_ino == os.fstat(1).st_ino and stat.S_ISSOCK(os.fstat(0).st_mode),
}), flush=True)
""")

SET_BY_ACCEPT = ["PROTO", "UNIXLOCALPATH", "UNIXREMOTEPATH", "UNIXREMOTEPID", "UNIXREMOTEEUID",
                 "UNIXREMOTEEGID", "UNIXREMOTEGIDLIST"]
UNSET_BY_ACCEPT = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "UPSTART_FDS",
                   "UPSTART_EVENTS", "UNIXLOCALUID", "UNIXLOCALGID", "UNIXLOCALPID"]

STARTED, ENDED = log_patterns(APPLET)
CONNECTION = re.compile(rf"^{APPLET}: (\d+) (\S+) (\S+) (\d+) (\d+) (\d+)$")



def listening_socket(path, kind=socket.SOCK_STREAM, backlog=64):
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    if kind == socket.SOCK_STREAM:
        sock.listen(backlog)
    return sock


def connect(path, bind=None):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(CLIENT_TIMEOUT)
    if bind is not None:
        client.bind(bind)
    client.connect(path)
    return client


def exchange(path, data=b"", bind=None):
    """Connect, send DATA, shut down writing, read to EOF."""
    return send_and_read(connect(path, bind), data)


class AcceptTestCase(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="accept-sock-")
        self.addCleanup(self.remove_dir)

    def remove_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def socket_path(self, name="sock"):
        return os.path.join(self.dir, name)

    def serve(self, argv, listeners=None, path=None, **kwargs):
        if listeners is None:
            listeners = [listening_socket(path or self.socket_path())]
        server = Server(argv, listeners, **kwargs)
        self.addCleanup(server.stop)
        return server

    def report(self, *options, env=None, bind=None, prefix=None, path=None, **kwargs):
        path = path or self.socket_path()
        server = self.serve((prefix or [ACCEPT]) + list(options) + REPORT, env=env, path=path, **kwargs)
        return server, json.loads(exchange(path, bind=bind))


class Usage(AcceptTestCase):
    def test_missing_next_program(self):
        self.case(APPLET, [], status=USAGE, fatal="NEXT-PROG")
        self.case(APPLET, ["-v"], status=USAGE, fatal="NEXT-PROG")

    def test_bad_limits(self):
        for value in ["0", "-1", "x", "2147483648", "1k", ""]:
            for option in ["-c", "--connection-limit", "-C", "--connection-limit-per-uid"]:
                with self.subTest(option=option, value=value):
                    result = run([ACCEPT, option, value, "true"])
                    self.assertFatal(result, APPLET, USAGE, option.lstrip("-") if option.startswith("--") else "")

    def test_unknown_option(self):
        self.assertFatal(run([ACCEPT, "--connection", "3", "true"]), APPLET, USAGE, "connection")

    def test_next_program_not_found_before_any_check(self):
        # No descriptor 3 at all: the missing program is found out first.
        result = run([ACCEPT, "/nonexistent/handler"])
        self.assertFatal(result, APPLET, NOT_FOUND, "/nonexistent/handler")

    def test_help(self):
        result = run([ACCEPT, "--help"])
        self.assertClean(result)
        for option in ["--connection-limit", "--connection-limit-per-uid", "--localname", "--verbose"]:
            self.assertIn(option, result.stdout)

    def test_every_long_option_is_in_the_manual(self):
        with open(os.path.join(os.environ.get("TOOLKIT_SOURCE_DIR", "."), "manpages", APPLET + ".1")) as f:
            page = f.read()
        page = page.replace("\\-", "-")
        for option in re.findall(r"--[a-z][a-z-]+", run([ACCEPT, "--help"]).stdout):
            self.assertIn(option, page)


class Listeners(AcceptTestCase):
    """Descriptor 3 (or each LISTEN_FDS descriptor) must be a listening AF_UNIX stream socket."""

    def start_on(self, make, *, fd=3, listen_fds=False, extra=()):
        """Run accept with the object MAKE() returns on FD; return the CompletedProcess."""
        obj = make()
        objects = list(extra) + [obj]
        fds = [o.fileno() for o in objects]
        first = 3 if listen_fds else fd

        def setup():
            moved = [os.dup(f) for f in fds]
            for i, f in enumerate(moved):
                os.dup2(f, first + i)
                os.close(f)

        argv = [ACCEPT, "true"]
        if listen_fds:
            argv = ["/bin/sh", "-c", f'LISTEN_PID=$$ LISTEN_FDS={len(fds)} exec "$@"', "sh"] + argv
        try:
            return subprocess.run(argv, pass_fds=fds, preexec_fn=setup, capture_output=True, text=True,
                                  timeout=WAIT_LIMIT)
        finally:
            for o in objects:
                o.close()

    def test_not_open(self):
        self.case(APPLET, ["true"], status=FAILURE, fatal=("descriptor 3", "not open"), pass_fds=())

    def test_regular_file(self):
        result = self.start_on(lambda: open(self.socket_path("file"), "w"))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "not a socket", "regular file")

    def test_pipe(self):
        read_end, write_end = os.pipe()
        os.close(write_end)
        result = self.start_on(lambda: os.fdopen(read_end))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "not a socket", "pipe")

    def test_inet(self):
        def make():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(1)
            return sock
        result = self.start_on(make)
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "AF_UNIX", "AF_INET")

    def test_datagram(self):
        result = self.start_on(lambda: listening_socket(self.socket_path(), socket.SOCK_DGRAM))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "not a stream socket", "SOCK_DGRAM")

    def test_not_listening(self):
        def make():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(self.socket_path())
            return sock
        result = self.start_on(make)
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "not listening")

    def test_listen_fds_names_the_bad_one(self):
        good = listening_socket(self.socket_path())
        result = self.start_on(lambda: open(self.socket_path("file"), "w"), listen_fds=True, extra=[good])
        self.assertFatal(result, APPLET, FAILURE, "descriptor 4", "not a socket")

    def test_listen_pid_of_another_process_means_fd_3(self):
        # LISTEN_FDS=2 is not for us: only fd 3 is used and fd 4 is not checked.
        first = listening_socket(self.socket_path())
        env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="2")
        server = self.serve([ACCEPT, "printenv", "UNIXLOCALPATH"], [first], env=env)
        self.assertEqual(exchange(self.socket_path()), (self.socket_path() + "\n").encode())
        self.assertEqual(server.log(), "")

    def test_two_listeners_from_listen_fds(self):
        listeners = [listening_socket(self.socket_path("one")), listening_socket(self.socket_path("two"))]
        server = self.serve([ACCEPT, "printenv", "UNIXLOCALPATH"], listeners, listen_fds=True)
        for _ in range(3):
            for name in ["one", "two"]:
                self.assertEqual(exchange(self.socket_path(name)), (self.socket_path(name) + "\n").encode())
        self.assertEqual(server.log(), "")

    def test_abstract_listener(self):
        name = f"toolkit-accept-test-{os.getpid()}"
        sock = listening_socket("\0" + name)
        server = self.serve([ACCEPT, "printenv", "UNIXLOCALPATH"], [sock])
        self.assertEqual(exchange("\0" + name), f"@{name}\n".encode())
        self.assertEqual(server.log(), "")


class Child(AcceptTestCase):
    """What the handler inherits: descriptors, environment, signals."""

    def check_descriptors(self, seen, server, extra=None):
        fds = dict(seen["fds"])
        self.assertTrue(seen["same"], "0 and 1 are one socket")
        self.assertEqual(seen["nonblocking"], [False, False])
        self.assertTrue(fds.pop("0").startswith("socket:"))
        self.assertTrue(fds.pop("1").startswith("socket:"))
        self.assertEqual(fds.pop("2"), server.log_path)
        if extra:
            for fd in extra:
                fds.pop(fd)
        self.assertEqual(fds, {}, "nothing else is open")

    def test_environment_and_descriptors(self):
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1", LISTEN_FDNAMES="x", LISTEN_PIDFDID="4",
                   UPSTART_FDS="3", UPSTART_EVENTS="socket", UNIXLOCALUID="5",
                   UNIXLOCALGID="6", UNIXLOCALPID="7", UNIXREMOTEPATH="/stale", UNIXREMOTEGIDLIST="9",
                   PROTO="TCP", KEEP_ME="yes")
        for label, prefix in forms(APPLET):
            with self.subTest(label):
                path = self.socket_path(label)
                server, seen = self.report(env=env, prefix=prefix, path=path)
                child = seen["env"]
                self.assertEqual(child["PROTO"], "UNIX")
                self.assertEqual(child["UNIXLOCALPATH"], path)
                self.assertNotIn("UNIXREMOTEPATH", child, "the client did not bind")
                self.assertEqual(child["UNIXREMOTEPID"], str(os.getpid()))
                self.assertEqual(child["UNIXREMOTEEUID"], str(os.geteuid()))
                self.assertEqual(child["UNIXREMOTEEGID"], str(os.getegid()))
                self.assertEqual(sorted(int(g) for g in child["UNIXREMOTEGIDLIST"].split(",") if g),
                                 sorted(os.getgroups()))
                for name in UNSET_BY_ACCEPT:
                    self.assertNotIn(name, child)
                self.assertEqual(child["KEEP_ME"], "yes")
                self.check_descriptors(seen, server)

    def check_connection_child(self, seen, server):
        """What REPORT saw in a child of SERVER started for a client of this process."""
        self.check_descriptors(seen, server)
        self.assertEqual(seen["env"]["UNIXREMOTEPID"], str(os.getpid()))
        self.assertEqual(seen["env"]["UNIXLOCALPATH"], self.socket_path())
        self.assertEqual(seen["env"]["PROTO"], "UNIX")
        for name in UNSET_BY_ACCEPT:
            self.assertNotIn(name, seen["env"])

    def test_same_child_state_while_others_run(self):
        # Children started while earlier ones still run must see what the first saw.
        waiting_report = probe("import sys; sys.stdin.buffer.read()\n" + REPORT[2])
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1", UNIXLOCALPID="7")
        server = self.serve([ACCEPT] + waiting_report, env=env)
        clients = [connect(self.socket_path()) for _ in range(4)]
        try:
            # Let each child start before the next connection.
            for client in clients:
                wait_for(lambda: len(server.children()) >= clients.index(client) + 1, "the child to start")
            for client in reversed(clients):
                client.shutdown(socket.SHUT_WR)
                self.check_connection_child(json.loads(read_all(client)), server)
        finally:
            for client in clients:
                client.close()

    def test_same_child_state_when_every_slot_is_taken(self):
        # A child shares the server's memory until its execve, reading its plan
        # from a slot of its own (on x86-64; elsewhere every child
        # is a copy). strace holds each child at its execve here, so slots run
        # out and the server copies itself for the rest; every child must see
        # the same state, and the trace shows both kinds of start.
        strace = which("strace")
        trace = os.path.join(self.dir, "trace")
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1", UNIXLOCALPID="7")
        server = self.serve([strace, "-f", "-qq", "-o", trace, "-e", "trace=clone,clone3,fork,vfork,execve",
                             "-e", "inject=execve:delay_enter=1000000", ACCEPT] + REPORT, env=env)
        count = 12
        clients = [connect(self.socket_path()) for _ in range(count)]
        try:
            for client in clients:
                client.shutdown(socket.SHUT_WR)
            for client in clients:
                self.check_connection_child(json.loads(read_all(client)), server)
        finally:
            for client in clients:
                client.close()
        server.stop()
        with open(trace) as f:
            starts = [line for line in f if re.search(r"\b(clone3?|v?fork)\(", line)]
        shared = [line for line in starts if "CLONE_VM" in line]
        copies = [line for line in starts if "CLONE_VM" not in line]
        self.assertEqual(len(starts), count, "".join(starts))
        if os.uname().machine == "x86_64":
            self.assertEqual(len(shared), 8, "one child per slot, then copies:\n" + "".join(starts))
            self.assertEqual(len(copies), count - 8, "".join(starts))
        else:
            self.assertEqual(copies, starts)

    def test_serves_under_valgrind(self):
        # Valgrind stops a program at a child that shares its parent's memory
        # without being a thread; the server notices Valgrind and forks instead.
        valgrind = which("valgrind")
        if os.environ.get("TOOLKIT_SANITIZED") == "1":
            self.skipTest("Valgrind cannot run a program built with AddressSanitizer")
        server = self.serve([valgrind, "-q", "--tool=none", ACCEPT, "printenv", "PROTO"])
        for _ in range(3):
            self.assertEqual(exchange(self.socket_path()), b"UNIX\n")
        wait_for(lambda: server.children() == [], "the children to be reaped")
        self.assertEqual(server.log(), "")

    def test_remote_path_when_client_binds(self):
        client_path = self.socket_path("client")
        _, seen = self.report(bind=client_path)
        self.assertEqual(seen["env"]["UNIXREMOTEPATH"], client_path)

    def test_remote_abstract_name(self):
        name = f"toolkit-accept-client-{os.getpid()}"
        _, seen = self.report(bind="\0" + name)
        self.assertEqual(seen["env"]["UNIXREMOTEPATH"], "@" + name)

    def test_localname(self):
        for i, option in enumerate([["-l", "/run/x"], ["--localname=/run/x"], ["--localname", "/run/x"]]):
            with self.subTest(option=option):
                path = self.socket_path(f"sock{i}")
                self.serve([ACCEPT] + option + ["printenv", "UNIXLOCALPATH"], path=path)
                self.assertEqual(exchange(path), b"/run/x\n")

    def test_in_process_applet_after_accept(self):
        # The next link is an applet: forked, and the chain goes on in the child.
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1", UNIXLOCALUID="5")
        server = self.serve([ACCEPT, "fdmove", "-c", "5", "0"] + REPORT, env=env)
        seen = json.loads(exchange(self.socket_path()))
        child = seen["env"]
        self.assertEqual(child["PROTO"], "UNIX")
        self.assertEqual(child["UNIXLOCALPATH"], self.socket_path())
        self.assertEqual(child["UNIXREMOTEPID"], str(os.getpid()))
        for name in UNSET_BY_ACCEPT:
            self.assertNotIn(name, child)
        self.check_descriptors(seen, server, extra=["5"])

    def test_signals_as_inherited(self):
        def setup():
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, {signal.SIGUSR2})

        def bit(signum):
            return 1 << (signum - 1)

        for i, chain in enumerate([[], ["fdmove", "1", "1"]]):
            with self.subTest(chain=chain):
                path = self.socket_path(f"sock{i}")
                server = self.serve([ACCEPT] + chain + ["grep", "^Sig[BI]", "/proc/self/status"], preexec=setup,
                                    path=path)
                lines = exchange(path).decode().split()
                fields = dict(zip(lines[0::2], lines[1::2]))
                blocked, ignored = int(fields["SigBlk:"], 16), int(fields["SigIgn:"], 16)
                self.assertEqual(blocked, bit(signal.SIGUSR2))
                self.assertEqual(ignored & (bit(signal.SIGUSR1) | bit(signal.SIGCHLD)),
                                 bit(signal.SIGUSR1) | bit(signal.SIGCHLD))
                # An ignored SIGCHLD did not stop the server from reaping.
                wait_for(lambda: server.children() == [], "the child to be reaped")
                server.stop()

    def test_server_without_stdin(self):
        # The connection must still end up on 0 and 1 when the server's 0 is closed.
        server = self.serve([ACCEPT] + REPORT, preexec=lambda: os.close(0))
        seen = json.loads(exchange(self.socket_path()))
        self.check_descriptors(seen, server)

    def test_handler_that_cannot_be_executed(self):
        handler = os.path.join(self.dir, "handler")
        with open(handler, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(handler, 0o755)
        server = self.serve([ACCEPT, "-v", handler])
        self.assertEqual(exchange(self.socket_path()), b"hi\n")
        # The client sees end of file when the first child closes its
        # descriptors, a moment before that child can be reaped: wait for its
        # line, or the second child's may come first.
        wait_for(lambda: server.lines(ENDED), "the first ended line")
        os.unlink(handler)
        self.assertEqual(exchange(self.socket_path()), b"")
        wait_for(lambda: len(server.lines(ENDED)) == 2, "two ended lines")
        self.assertIn(f"{APPLET}: FATAL: {handler}: No such file or directory\n", server.log())
        self.assertEqual(server.lines(ENDED)[1].group(2, 3), ("1", "127"))

    def test_handler_whose_interpreter_is_missing(self):
        # The handler exists; its #! interpreter does not: 126, not 127, for
        # a handler exec'd by the server's child and for one after an applet.
        handler = os.path.join(self.dir, "badint")
        with open(handler, "w") as f:
            f.write("#!/nonexistent/sh\necho hi\n")
        os.chmod(handler, 0o755)
        for i, chain in enumerate([[], ["fdmove", "1", "1"]]):
            with self.subTest(chain=chain):
                path = self.socket_path(f"sock{i}")
                server = self.serve([ACCEPT, "-v"] + chain + [handler], path=path)
                self.assertEqual(exchange(path), b"")
                ended = wait_for(lambda: server.lines(ENDED), "the ended line")
                self.assertEqual(ended[0].group(2, 3), ("1", "126"))
                fatal = [line for line in server.log().splitlines() if ": FATAL: " in line]
                program = "fdmove" if chain else APPLET
                self.assertEqual(fatal, [f"{program}: FATAL: {handler}: No such file or directory"
                                         " (its #! interpreter or loader was not found)"])
                server.stop()


class ClientNames(AcceptTestCase):
    """A client picks the name it binds to: it must neither forge log lines
    nor be announced under a name it does not hold."""

    def served_lines(self, server, count):
        """The log once COUNT children have ended, as lines, split on newlines
        only; a byte that is not UTF-8 stays visible (as a lone surrogate)."""
        def lines():
            with open(server.log_path, "rb") as log:
                return log.read().decode(errors="surrogateescape").split("\n")

        wait_for(lambda: len([line for line in lines() if ENDED.match(line)]) >= count,
                 f"{count} ended lines")
        return lines()

    def test_abstract_name_with_nul_is_escaped_in_unixremotepath(self):
        # "\0<tag>\0admin\\x": cut at the NUL it would read "@<tag>", a name
        # another process may hold.
        tag = f"toolkit-accept-{os.getpid()}"
        bound = b"\0" + tag.encode() + b"\0admin\\x"
        for i, chain in enumerate([[], ["fdmove", "1", "1"]]):
            with self.subTest(chain=chain):
                path = self.socket_path(f"sock{i}")
                self.serve([ACCEPT] + chain + ["printenv", "UNIXREMOTEPATH"], path=path)
                self.assertEqual(exchange(path, bind=bound), b"@" + tag.encode() + b"\\0admin\\\\x\n")

    def test_a_file_named_like_an_abstract_name_is_told_apart(self):
        # A client bound to the relative path "@<tag>" is not the abstract name
        # "<tag>": announced as "./@<tag>", the same file.
        tag = f"toolkit-accept-{os.getpid()}"
        path = self.socket_path()
        self.serve([ACCEPT, "printenv", "UNIXREMOTEPATH"], path=path)
        here = os.getcwd()
        os.chdir(self.dir)
        try:
            self.assertEqual(exchange(path, bind="@" + tag), b"./@" + tag.encode() + b"\n")
        finally:
            os.chdir(here)
        self.assertEqual(exchange(path, bind=b"\0" + tag.encode()), b"@" + tag.encode() + b"\n")

    def test_names_cannot_forge_log_lines(self):
        self.assertRegex(self.dir, r"^[!-~]+$")  # so that only the client's part is escaped
        sock = self.socket_path()
        forged = f"{APPLET}: 999 ended status 1 code 0 0"
        client_path = self.socket_path("cl\n" + forged)
        tag = f"toolkit-accept-{os.getpid()}"
        abstract = b"\0" + tag.encode() + b"\0admin\\x \xff\t"
        server = self.serve([ACCEPT, "-v", "printenv", "UNIXREMOTEPATH"], path=sock)

        self.assertEqual(exchange(sock, bind=client_path), client_path.encode() + b"\n")
        self.served_lines(server, 1)
        self.assertEqual(exchange(sock, bind=abstract),
                         b"@" + tag.encode() + b"\\0admin\\\\x \xff\t\n")
        lines = self.served_lines(server, 2)

        self.assertNotIn("\0", "\n".join(lines))
        self.assertEqual(lines[-1], "")  # the log ends with a newline
        lines = lines[:-1]
        self.assertEqual(len(lines), 6, lines)
        first, second = STARTED.match(lines[0]), STARTED.match(lines[3])
        self.assertTrue(first and second, lines)
        ids = f"{os.getpid()} {os.geteuid()} {os.getegid()}"
        escaped_path = (self.dir + "/cl\\n" + APPLET + ":\\x20999\\x20ended\\x20status\\x201"
                        "\\x20code\\x200\\x200")
        # The variable holds "\0" and "\\" for the NUL and the backslash; the log
        # escapes that value again, and the space, 0xff and the tab.
        escaped_abstract = "@" + tag + "\\\\0admin\\\\\\\\x\\x20\\xff\\t"
        pid1, pid2 = first.group(1), second.group(1)
        self.assertEqual(lines, [
            f"{APPLET}: {pid1} started 1/40",
            f"{APPLET}: {pid1} {sock} {escaped_path} {ids}",
            f"{APPLET}: {pid1} ended status 1 code 0 0/40",
            f"{APPLET}: {pid2} started 1/40",
            f"{APPLET}: {pid2} {sock} {escaped_abstract} {ids}",
            f"{APPLET}: {pid2} ended status 1 code 0 0/40",
        ])

    def test_a_name_that_is_a_dash_is_not_an_empty_one(self):
        sock = self.socket_path()
        server = self.serve([ACCEPT, "-v", "true"], path=sock)
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            self.assertEqual(exchange(sock, bind="-"), b"")
        finally:
            os.chdir(cwd)
        self.served_lines(server, 1)
        self.assertEqual(server.lines(CONNECTION)[0].group(3), "\\x2d")


class Verbose(AcceptTestCase):
    def test_log_lines(self):
        client_path = self.socket_path("client")
        server = self.serve([ACCEPT, "-v", "-c", "7", "sh", "-c", "cat; exit 3"])
        self.assertEqual(exchange(self.socket_path(), b"x\n", bind=client_path), b"x\n")
        wait_for(lambda: server.lines(ENDED), "the ended line")
        lines = server.log().splitlines()
        self.assertEqual(len(lines), 3, lines)
        started, connection, ended = STARTED.match(lines[0]), CONNECTION.match(lines[1]), ENDED.match(lines[2])
        self.assertTrue(started and connection and ended, lines)
        pid = started.group(1)
        self.assertEqual(started.group(2, 3), ("1", "7"))
        self.assertEqual(connection.groups(), (pid, self.socket_path(), client_path, str(os.getpid()),
                                               str(os.geteuid()), str(os.getegid())))
        self.assertEqual(ended.groups(), (pid, "1", "3", "0", "7"))

    def test_unbound_client_and_signal(self):
        server = self.serve([ACCEPT, "--verbose", "sh", "-c", "kill -9 $$"])
        self.assertEqual(exchange(self.socket_path()), b"")
        ended = wait_for(lambda: server.lines(ENDED), "the ended line")
        self.assertEqual(ended[0].group(2, 3, 4, 5), ("2", "9", "0", "40"))
        self.assertEqual(server.lines(CONNECTION)[0].group(3), "-")

    def test_quiet_without_verbose(self):
        server = self.serve([ACCEPT, "true"])
        for _ in range(5):
            self.assertEqual(exchange(self.socket_path()), b"")
        wait_for(lambda: server.children() == [], "children to be reaped")
        self.assertEqual(server.log(), "")


class Limits(AcceptTestCase):
    def test_connection_limit_is_never_exceeded(self):
        limit, total = 2, 6
        server = self.serve([ACCEPT, "-v", "-c", str(limit), "cat"])
        # The first LIMIT are served; the others wait in the backlog until one ends.
        clients = [connect(self.socket_path()) for _ in range(total)]
        check_limit_held(self, server, clients, limit, (STARTED, ENDED, CONNECTION))

    def test_per_uid_limit_closes_at_once(self):
        server = self.serve([ACCEPT, "-v", "-C", "1", "cat"])
        first = connect(self.socket_path())
        first.sendall(b"one\n")
        self.assertEqual(first.recv(100), b"one\n")
        # Same uid, over the limit: closed without being served.
        self.assertEqual(exchange(self.socket_path()), b"")
        self.assertIn(f"{APPLET}: ERROR: uid {os.geteuid()}: at the limit of 1 connections per uid; "
                      "connection closed\n", server.log())
        self.assertEqual(len(server.lines(STARTED)), 1)
        first.close()
        wait_for(lambda: server.lines(ENDED), "the first child to end")
        self.assertEqual(exchange(self.socket_path(), b"three\n"), b"three\n")

    def test_per_uid_limit_counts_live_children_only(self):
        server = self.serve([ACCEPT, "--connection-limit-per-uid=2", "cat"])
        for i in range(10):
            self.assertEqual(exchange(self.socket_path(), b"%d" % i), b"%d" % i)
            wait_for(lambda: server.children() == [], "the child to end")
        self.assertEqual(server.log(), "")


class Robustness(AcceptTestCase):
    def test_descriptor_exhaustion_is_transient(self):
        # Five descriptors: 0, 1, 2, the listener and our own; accept fails with EMFILE.
        server = self.serve([ACCEPT, "cat"],
                            preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (5, 64)))
        clients = [connect(self.socket_path()) for _ in range(20)]
        try:
            for i, client in enumerate(clients):
                client.sendall(b"%d\n" % i)
                client.shutdown(socket.SHUT_WR)
            wait_for(lambda: "Too many open files" in server.log(), "an EMFILE error line")
            self.assertRegex(server.log().splitlines()[0],
                             rf"^{APPLET}: ERROR: accept on descriptor 3: Too many open files$")
            self.assertIsNone(server.process.poll(), "the server is still running")
            resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (64, 64))
            for i, client in enumerate(clients):
                self.assertEqual(read_all(client), b"%d\n" % i)
        finally:
            for client in clients:
                client.close()
        self.assertEqual(exchange(self.socket_path(), b"after\n"), b"after\n")

    def test_more_clients_than_descriptors(self):
        # Room for one connection at a time, and many more clients than that.
        server = self.serve([ACCEPT, "-c", "100", "cat"],
                            preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (6, 6)))
        clients = [connect(self.socket_path()) for _ in range(40)]
        try:
            for i, client in enumerate(clients):
                client.sendall(b"%d\n" % i)
                client.shutdown(socket.SHUT_WR)
            for i, client in enumerate(clients):
                self.assertEqual(read_all(client), b"%d\n" % i)
        finally:
            for client in clients:
                client.close()
        self.assertEqual(exchange(self.socket_path(), b"after\n"), b"after\n")
        self.assertIsNone(server.process.poll())

    def test_burst_of_1000_leaves_no_zombie(self):
        server = self.serve([ACCEPT, "-v", "-c", "64", "/bin/true"],
                            listeners=[listening_socket(self.socket_path(), backlog=128)])
        check_burst(self, server, lambda: exchange(self.socket_path()), (STARTED, ENDED))

    def test_clients_that_vanish(self):
        server = self.serve([ACCEPT, "-v", "sh", "-c", "exec cat 2>/dev/null"])
        # The handler's own complaints (a reset connection) stay out of the server's log.
        # Connect and go away before being served, or with data unread.
        for _ in range(30):
            connect(self.socket_path()).close()
        for _ in range(10):
            client = connect(self.socket_path())
            client.sendall(b"x" * 1000)
            client.close()
        # A client killed in the middle of an exchange.
        socat = which("socat")
        for _ in range(3):
            killed = subprocess.Popen([socat, "-", "UNIX-CONNECT:" + self.socket_path()],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            killed.stdin.write(b"partial\n")
            killed.stdin.flush()
            self.assertEqual(killed.stdout.readline(), b"partial\n")
            killed.kill()
            killed.wait(timeout=WAIT_LIMIT)
            killed.stdin.close()
            killed.stdout.close()
        self.assertEqual(exchange(self.socket_path(), b"still here\n"), b"still here\n")
        wait_for(lambda: server.children() == [], "every child to end")
        started = len(server.lines(STARTED))
        # A child is reaped a moment before its line is written.
        wait_for(lambda: len(server.lines(ENDED)) == started, "every ended line")
        self.assertNotIn("ERROR", server.log())
        self.assertNotIn("FATAL", server.log())


class Signals(AcceptTestCase):
    def test_term_int_hup_end_the_server_not_the_children(self):
        for signum in [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]:
            with self.subTest(signal=signum.name):
                path = self.socket_path(signum.name)
                # Their default action, whatever this test runner inherited (nohup ignores HUP).
                server = self.serve([ACCEPT, "cat"], path=path,
                                    preexec=lambda signum=signum: signal.signal(signum, signal.SIG_DFL))
                client = connect(path)
                client.sendall(b"before\n")
                self.assertEqual(client.recv(100), b"before\n")
                os.kill(server.pid, signum)
                self.assertEqual(server.process.wait(timeout=WAIT_LIMIT), -signum)
                # The child still serves its client.
                client.sendall(b"after\n")
                client.shutdown(socket.SHUT_WR)
                self.assertEqual(read_all(client), b"after\n")
                client.close()


class Interop(AcceptTestCase):
    def test_unixclient(self):
        unixclient = which("unixclient")
        self.serve([ACCEPT, "sh", "-c", 'read line; echo "$line from $UNIXREMOTEEUID via $PROTO"'])
        result = run([unixclient, self.socket_path(), "sh", "-c", "echo hello >&7; head -n 1 <&6"])
        self.assertClean(result, f"hello from {os.geteuid()} via UNIX\n")

    def test_socat_binding_its_address(self):
        socat = which("socat")
        client_path = self.socket_path("socat-client")
        self.serve([ACCEPT, "printenv", "UNIXREMOTEPATH"])
        result = run([socat, "-", f"UNIX-CONNECT:{self.socket_path()},bind={client_path}"], input="")
        self.assertClean(result, client_path + "\n")

    def test_git_daemon_inetd_clone(self):
        git = which("git")
        which("socat")
        home = os.path.join(self.dir, "home")
        repos = os.path.join(self.dir, "repos")
        for d in [home, repos]:
            os.mkdir(d)
        env = dict(os.environ, HOME=home, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t", LC_ALL="C")
        source = os.path.join(repos, "project.git")
        for argv in [[git, "config", "--global", "protocol.ext.allow", "always"],
                     [git, "init", "-q", "-b", "main", os.path.join(self.dir, "home", "work")]]:
            self.assertExit(run(argv, env=env), 0)
        work = os.path.join(home, "work")
        with open(os.path.join(work, "hello.txt"), "w") as f:
            f.write("served over a local socket\n")
        for argv in [[git, "-C", work, "add", "hello.txt"], [git, "-C", work, "commit", "-q", "-m", "first"],
                     [git, "clone", "-q", "--bare", work, source]]:
            self.assertExit(run(argv, env=env), 0)
        self.serve([ACCEPT, git, "daemon", "--inetd", "--export-all", "--base-path=" + repos], env=env)
        dest = os.path.join(home, "clone")
        result = run([git, "clone", "-q", f"ext::socat - UNIX-CONNECT:{self.socket_path()} %G/project.git", dest],
                     env=env, timeout=60)
        self.assertExit(result, 0)
        with open(os.path.join(dest, "hello.txt")) as f:
            self.assertEqual(f.read(), "served over a local socket\n")



LISTEN = applet_link("local-stream-socket-listen")


# A handler that says whether it inherited SIGPIPE ignored (not Python: it ignores SIGPIPE itself).
SIGPIPE_REPORT = ["/bin/sh", "-c",
                  'mask=$(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status); '
                  'if [ $(( 0x$mask & 0x1000 )) -ne 0 ]; then echo ignored; else echo default; fi']


class ServerHygiene(AcceptTestCase):
    """What a hostile review of the server found: each of these failed once."""

    def chain(self, *links, stderr=None, preexec=None, options=()):
        """local-stream-socket-listen OPTIONS PATH LINKS... in its own process group."""
        path = self.socket_path()
        process = subprocess.Popen([LISTEN, *options, path] + list(links), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
                                   preexec_fn=preexec)

        def stop():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=WAIT_LIMIT)
        self.addCleanup(stop)
        wait_for(lambda: listening(path) or process.poll() is not None, "the socket to listen")
        return process, path

    def test_upstart_and_systemd_variables_of_the_listener_stop_at_the_server(self):
        process, path = self.chain(APPLET, *REPORT, options=["--upstart-compatibility",
                                                             "--systemd-compatibility", "--name", "web"])
        seen = json.loads(exchange(path))
        for name in UNSET_BY_ACCEPT:
            self.assertNotIn(name, seen["env"])
        self.assertEqual(seen["env"]["UNIXLOCALPATH"], path)

    def test_server_survives_the_reader_of_its_stderr(self):
        fifo = os.path.join(self.dir, "log")
        os.mkfifo(fifo)
        # The reader takes one line and goes away, as a logger restarted.
        reader = subprocess.Popen(["head", "-n", "1", fifo], stdout=subprocess.PIPE)
        self.addCleanup(reader.wait, WAIT_LIMIT)
        with open(fifo, "w") as log:
            process, path = self.chain(APPLET, "-v", *SIGPIPE_REPORT, stderr=log)
        self.assertEqual(exchange(path), b"default\n")
        reader.wait(timeout=WAIT_LIMIT)
        self.assertRegex(reader.stdout.read().decode(), rf"^{APPLET}: \d+ started 1/40\n$")
        reader.stdout.close()
        # Every later line meets a pipe with no reader; the server must go on.
        for _ in range(5):
            self.assertEqual(exchange(path), b"default\n")
        self.assertIsNone(process.poll(), "the server died")
        self.assertTrue(os.path.exists(path))

    def test_children_get_an_ignored_sigpipe_back(self):
        def ignore():
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        process, path = self.chain(APPLET, *SIGPIPE_REPORT, preexec=ignore)
        self.assertEqual(exchange(path), b"ignored\n")

    def test_sigpipe_default_in_children_of_the_fork_path(self):
        process, path = self.chain(APPLET, "fdmove", "-c", "2", "2", *SIGPIPE_REPORT)
        self.assertEqual(exchange(path), b"default\n")

    def test_quiet_refusals_write_nothing(self):
        server = self.serve([ACCEPT, "-q", "-C", "1", "cat"])
        first = connect(self.socket_path())
        first.sendall(b"one\n")
        self.assertEqual(first.recv(100), b"one\n")
        for _ in range(20):
            self.assertEqual(exchange(self.socket_path()), b"")
        first.close()
        self.assertEqual(server.log(), "")

    def test_quiet_keeps_the_verbose_lines(self):
        server = self.serve([ACCEPT, "--quiet", "--verbose", "-C", "1", "cat"])
        first = connect(self.socket_path())
        first.sendall(b"one\n")
        self.assertEqual(first.recv(100), b"one\n")
        self.assertEqual(exchange(self.socket_path()), b"")
        first.close()
        wait_for(lambda: server.lines(ENDED), "the child to end")
        self.assertNotIn("ERROR", server.log())
        self.assertEqual(len(server.lines(STARTED)), 1)

    def test_process_name(self):
        server = self.serve([ACCEPT, "cat"])
        def name():
            with open(f"/proc/{server.pid}/comm") as f:
                return f.read() == "lstream-accept\n"
        wait_for(name, "the server's process name")

if __name__ == "__main__":
    main()
