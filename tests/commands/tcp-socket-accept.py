"""End-to-end tests of tcp-socket-accept: listening sockets made by the real
tcp-socket-listen (the port the kernel chose is read from /proc) or by this
test and passed as descriptor 3 (or LISTEN_FDS), real clients (Python,
ucspi-tcp's tcpclient, curl, busybox nc) on 127.0.0.1 and ::1 only, and
handlers that report what they inherited."""

import errno
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, PYTHON, USAGE, ToolkitTestCase, applet_link,
                     main, open_descriptors, probe, run, which, wait_for)
import servers
from servers import (CLIENT_TIMEOUT, WAIT_LIMIT, check_burst, check_limit_held, log_patterns, read_all,
                     send_and_read)

APPLET = "tcp-socket-accept"
ACCEPT = applet_link(APPLET)
LISTEN = applet_link("tcp-socket-listen")
PROCESS_NAME = "tcp-accept"

# The handler that reports what it inherited, as one JSON line on the connection.
REPORT = probe(textwrap.dedent(r"""
    import json, os, fcntl, socket, stat
    fds = {}
    for name in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + name)
        except OSError:
            continue  # the directory listing's own descriptor, already closed
        fds[name] = target
    connection = socket.socket(fileno=0)
    options = {
        'keepalive': connection.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        'nodelay': connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
    }
    connection.detach()
    print(json.dumps({
        'env': dict(os.environ),
        'fds': fds,
        'options': options,
        'nonblocking': [bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) for fd in (0, 1)],
        'same': os.fstat(0).st_ino == os.fstat(1).st_ino and stat.S_ISSOCK(os.fstat(0).st_mode),
    }), flush=True)
"""))

# Puts descriptor argv[1] on 3, then runs argv[2:]: a listener (or anything else) for accept.
ON_FD3 = [PYTHON, "-c", "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execv(sys.argv[2], sys.argv[2:])"]

NEVER_SET = ["TCPREMOTEHOST", "TCPREMOTEINFO"]
UNSET_BY_ACCEPT = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "UPSTART_FDS",
                   "UPSTART_EVENTS"]
# What a server started from another UCSPI server would have inherited.
STALE = {"LISTEN_FDS": "1", "LISTEN_PID": "1", "LISTEN_FDNAMES": "x", "LISTEN_PIDFDID": "4",
         "UPSTART_FDS": "3", "UPSTART_EVENTS": "socket", "TCPREMOTEHOST": "forged.example",
         "TCPREMOTEINFO": "root", "TCPLOCALHOST": "stale.example", "TCPREMOTEIP": "192.0.2.1",
         "PROTO": "UNIX", "KEEP_ME": "yes"}

STARTED, ENDED = log_patterns(APPLET)
CONNECTION = re.compile(rf"^{APPLET}: (\d+) (\S+) (\d+) (\S+) (\d+)$")



def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host="127.0.0.1", kind=socket.SOCK_STREAM, backlog=64, listen=True):
    sock = socket.socket(family_of(host), kind)
    if host == "::":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host, 0))
    if listen:
        sock.listen(backlog)
    return sock


def listening_port(pid, fd):
    """The port of the listening TCP socket on descriptor FD of process PID, from /proc; None if none."""
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    match = re.fullmatch(r"socket:\[(\d+)\]", target)
    if not match:
        return None
    for table in ["/proc/net/tcp", "/proc/net/tcp6"]:
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] == match.group(1) and fields[3] == "0A":  # 0A: LISTEN
                    return int(fields[1].rsplit(":", 1)[1], 16)
    return None


def process_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


class Server(servers.Server):
    """A server (see servers.Server) run with LISTENERS made here, or a chain
    that makes its own (tcp-socket-listen ...). Its ports are read from /proc
    once accept runs."""

    def __init__(self, argv, listeners=(), *, count=None, **kwargs):
        super().__init__(argv, listeners, prefix="tcp-accept-test-", **kwargs)
        count = count or max(len(listeners), 1)

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the server ended: {self.log()!r}")
            if process_name(self.pid) != PROCESS_NAME:
                return None
            ports = [listening_port(self.pid, 3 + i) for i in range(count)]
            return ports if None not in ports else None
        self.ports = wait_for(ready, "the server to listen")
        self.port = self.ports[0]


def connect(host, port, source=None):
    client = socket.socket(family_of(host), socket.SOCK_STREAM)
    try:
        client.settimeout(CLIENT_TIMEOUT)
        if source is not None:
            client.bind((source, 0))
        client.connect((host, port))
    except OSError:
        client.close()
        raise
    return client


def exchange(host, port, data=b"", source=None):
    """Connect, send DATA, shut down writing, read to EOF."""
    return send_and_read(connect(host, port, source), data)


def turned_away(host, port, data=b"refused?\n", source=None):
    """Whether a client that sends DATA is closed on without an answer: at
    once EOF, or a reset (the server closed with DATA unread)."""
    try:
        return exchange(host, port, data, source) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError as e:
        if e.errno == errno.ENOTCONN:  # the reset came before our shutdown
            return True
        raise


class AcceptTestCase(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tcp-accept-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def serve(self, argv, listeners=None, host="127.0.0.1", **kwargs):
        """ARGV on LISTENERS (default: one on HOST); they are the server's alone afterwards."""
        if listeners is None:
            listeners = [listener(host)]
        server = Server(argv, listeners, **kwargs)
        self.addCleanup(server.stop)
        return server

    def chain(self, argv, **kwargs):
        """A whole chain that makes its own listeners (tcp-socket-listen ... tcp-socket-accept ...)."""
        server = Server(argv, **kwargs)
        self.addCleanup(server.stop)
        return server

    def report(self, *options, host="127.0.0.1", connect_to=None, source=None, **kwargs):
        server = self.serve([ACCEPT] + list(options) + REPORT, host=host, **kwargs)
        return server, json.loads(exchange(connect_to or host, server.port, source=source))

    def check_descriptors(self, seen, server, extra=()):
        """0 and 1 the connection (blocking), 2 the server's, nothing else but EXTRA."""
        fds = dict(seen["fds"])
        self.assertTrue(seen["same"], "0 and 1 are one socket")
        self.assertEqual(seen["nonblocking"], [False, False])
        self.assertRegex(fds.pop("0"), r"^socket:")
        self.assertRegex(fds.pop("1"), r"^socket:")
        self.assertEqual(fds.pop("2"), server.log_path)
        for fd in extra:
            fds.pop(fd)
        fds = {fd: target for fd, target in fds.items() if not target.endswith("/fd")}  # the listing's own
        self.assertEqual(fds, {}, "nothing else is open")


class Usage(AcceptTestCase):
    def test_help(self):
        def check(result, form):
            for option in ["--connection-limit", "--connection-limit-per-source", "--per-source-prefix4",
                           "--per-source-prefix6", "--localname", "--keepalives", "--no-delay", "--verbose",
                           "--quiet"]:
                self.assertIn(option, result.stdout)
            self.assertIn(PROCESS_NAME, result.stdout)
        self.case(APPLET, ["--help"], then=check)
        self.case(APPLET, ["-?"], then=check)

    def test_missing_next_program(self):
        self.case(APPLET, [], status=USAGE, fatal="NEXT-PROG: missing next program")
        self.case(APPLET, ["-v", "-k", "-D", "-c", "3"], status=USAGE, fatal="NEXT-PROG: missing next program")

    def test_bad_numbers(self):
        limits = ["0", "-1", "x", "2147483648", "1k", "", " 1", "0x80000000"]
        bad = [("-c", "--connection-limit", limits), ("--connection-limit", "--connection-limit", limits),
               ("-C", "--connection-limit-per-source", limits),
               ("--connection-limit-per-source", "--connection-limit-per-source", limits),
               ("--per-source-prefix4", "--per-source-prefix4", ["33", "-1", "0x21", "041", "x", ""]),
               ("--per-source-prefix6", "--per-source-prefix6", ["129", "-1", "0201", "64bits", ""])]
        for option, name, values in bad:
            for value in values:
                with self.subTest(option=option, value=value):
                    self.case(APPLET, [option, value, "true"], status=USAGE, fatal=name + ":")

    def test_numbers_at_the_ends_of_their_ranges_are_taken(self):
        # No descriptor 3: everything that parses is accepted, and the server then stops there.
        for options in [["-c", "2147483647"], ["-C", "1"], ["--per-source-prefix4", "0"],
                        ["--per-source-prefix4=32"], ["--per-source-prefix6", "0"],
                        ["--per-source-prefix6", "0x80"]]:
            with self.subTest(options=options):
                self.case(APPLET, options + ["true"], status=FAILURE, fatal=("descriptor 3", "not open"))

    def test_missing_option_value(self):
        self.case(APPLET, ["-l"], status=USAGE, fatal="l")
        self.case(APPLET, ["--per-source-prefix4"], status=USAGE, fatal="per-source-prefix4")

    def test_unknown_options(self):
        self.case(APPLET, ["--connection", "3", "true"], status=USAGE, fatal="connection")
        # tcpserver's name and ident options: we never look anything up.
        for option in ["-H", "-R", "-h", "-p", "-r", "-P"]:
            with self.subTest(option=option):
                self.case(APPLET, [option, "true"], status=USAGE, fatal=option.lstrip("-"))

    def test_next_program_not_found_before_any_check(self):
        # No descriptor 3 at all: the missing program is found out first.
        self.case(APPLET, ["/nonexistent/handler"], status=NOT_FOUND, fatal="/nonexistent/handler")
        self.case(APPLET, ["-v", "no-such-handler-here"], status=NOT_FOUND, fatal="no-such-handler-here")

    def test_next_program_that_cannot_run(self):
        handler = os.path.join(self.dir, "handler")
        with open(handler, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(handler, 0o644)
        self.case(APPLET, [handler], status=CANNOT_RUN, fatal=(handler, "Permission denied"))

    def test_whole_chain_is_planned_before_the_socket_exists(self):
        path = os.path.join(self.dir, "sock")
        self.case("local-stream-socket-listen", [path, APPLET, "-c", "0", "true"], status=USAGE,
                  stderr=f"{APPLET}: FATAL: --connection-limit: out of range 1..2147483647: 0\n",
                  then=lambda r, f: self.assertFalse(os.path.lexists(path), "the socket node was made"))
        # And no TCP socket is bound: strace sees no bind at all.
        strace = which("strace")
        trace = os.path.join(self.dir, "trace")

        def no_bind(result, form):
            with open(trace) as f:
                calls = f.read()
            self.assertNotRegex(calls, r"\bbind\(|\blisten\(", calls)
        self.case("tcp-socket-listen", ["127.0.0.1", "0", APPLET, "--per-source-prefix6", "129", "true"],
                  status=USAGE, stderr=f"{APPLET}: FATAL: --per-source-prefix6: out of range 0..128: 129\n",
                  wrap=lambda argv: [strace, "-f", "-qq", "-o", trace, "-e", "trace=bind,listen"] + argv,
                  then=no_bind)
        self.case("tcp-socket-listen", ["127.0.0.1", "0", APPLET, "-C", "2", "no-such-handler-here"],
                  status=NOT_FOUND, stderr=f"{APPLET}: FATAL: no-such-handler-here: not found in PATH\n",
                  wrap=lambda argv: [strace, "-f", "-qq", "-o", trace, "-e", "trace=bind,listen"] + argv,
                  then=no_bind)


class Listeners(AcceptTestCase):
    """Descriptor 3 (or each LISTEN_FDS descriptor) must be a listening TCP stream socket."""

    def refused(self, make, *fragments):
        obj = make()
        try:
            self.case(APPLET, ["true"], status=FAILURE, fatal=("descriptor 3",) + fragments,
                      wrap=lambda argv: ON_FD3 + [str(obj.fileno())] + argv, pass_fds=(obj.fileno(),))
        finally:
            obj.close()

    def test_not_open(self):
        self.case(APPLET, ["true"], status=FAILURE, fatal=("descriptor 3", "not open"))

    def test_regular_file(self):
        self.refused(lambda: open(os.path.join(self.dir, "file"), "w"), "not a socket but a regular file")

    def test_pipe(self):
        read_end, write_end = os.pipe()
        os.close(write_end)
        self.refused(lambda: os.fdopen(read_end), "not a socket", "pipe")

    def test_unix_socket(self):
        def make():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(os.path.join(self.dir, "sock"))
            sock.listen(1)
            return sock
        self.refused(make, "not a TCP (AF_INET or AF_INET6) socket but a local (AF_UNIX) socket")

    def test_udp_socket(self):
        self.refused(lambda: listener("127.0.0.1", socket.SOCK_DGRAM, listen=False),
                     "not a stream socket but a datagram (SOCK_DGRAM) socket")
        self.refused(lambda: listener("::1", socket.SOCK_DGRAM, listen=False), "SOCK_DGRAM")

    def test_not_listening(self):
        self.refused(lambda: listener("127.0.0.1", listen=False), "a stream socket that is not listening")
        # A connected socket is not a listener either.
        server = listener()
        try:
            self.refused(lambda: socket.create_connection(server.getsockname(), timeout=CLIENT_TIMEOUT),
                         "not listening")
        finally:
            server.close()

    def test_listen_fds_names_the_bad_one(self):
        good, bad = listener(), listener("127.0.0.1", socket.SOCK_DGRAM, listen=False)
        try:
            fds = [good.fileno(), bad.fileno()]
            wrap = [PYTHON, "-c", "import os, sys\n"
                    "for i, fd in enumerate(sys.argv[1:3]): os.dup2(int(fd), 3 + i)\n"
                    "os.environ.update(LISTEN_FDS='2', LISTEN_PID=str(os.getpid()))\n"
                    "os.execv(sys.argv[3], sys.argv[3:])"] + [str(fd) for fd in fds]
            self.case(APPLET, ["true"], status=FAILURE, fatal=("descriptor 4", "SOCK_DGRAM"),
                      wrap=lambda argv: wrap + argv, pass_fds=fds)
        finally:
            good.close()
            bad.close()

    def test_two_listeners_from_listen_fds(self):
        server = self.serve([ACCEPT, "printenv", "TCPLOCALIP", "TCPLOCALPORT"],
                            [listener("127.0.0.1"), listener("::1")], listen_fds=True)
        for _ in range(3):
            for host, port in zip(["127.0.0.1", "::1"], server.ports):
                self.assertEqual(exchange(host, port), f"{host}\n{port}\n".encode())
        self.assertEqual(server.log(), "")

    def test_listen_pid_of_another_process_means_fd_3(self):
        # LISTEN_FDS=2 is not for us: only fd 3 is used, and fd 4 (not open) is not checked.
        server = self.serve([ACCEPT, "printenv", "TCPLOCALIP"], env=dict(os.environ, LISTEN_PID="1", LISTEN_FDS="2"))
        self.assertEqual(exchange("127.0.0.1", server.port), b"127.0.0.1\n")
        self.assertEqual(server.log(), "")


class Environment(AcceptTestCase):
    """What the handler inherits: variables, descriptors, socket options, signals."""

    def test_ipv4(self):
        server, seen = self.report(env=dict(os.environ, **STALE))
        child = seen["env"]
        self.assertEqual(child["PROTO"], "TCP")
        self.assertEqual(child["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(child["TCPLOCALPORT"], str(server.port))
        self.assertEqual(child["TCPREMOTEIP"], "127.0.0.1")
        self.assertRegex(child["TCPREMOTEPORT"], r"^[1-9]\d*$")
        for name in NEVER_SET + UNSET_BY_ACCEPT + ["TCPLOCALHOST"]:
            self.assertNotIn(name, child)
        self.assertEqual(child["KEEP_ME"], "yes")
        self.check_descriptors(seen, server)

    def test_ipv6(self):
        server, seen = self.report(host="::1", env=dict(os.environ, **STALE))
        child = seen["env"]
        self.assertEqual([child[name] for name in ["PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP"]],
                         ["TCP", "::1", str(server.port), "::1"])
        for name in NEVER_SET + UNSET_BY_ACCEPT + ["TCPLOCALHOST"]:
            self.assertNotIn(name, child)
        self.check_descriptors(seen, server)

    def test_remote_port_is_the_clients(self):
        server = self.serve([ACCEPT, "printenv", "TCPREMOTEPORT"])
        with connect("127.0.0.1", server.port) as client:
            port = client.getsockname()[1]
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(client), f"{port}\n".encode())

    def test_ipv4_and_ipv6_clients_on_one_dual_stack_listener(self):
        server = self.serve([ACCEPT, "printenv", "TCPLOCALIP", "TCPREMOTEIP"], host="::")
        self.assertEqual(exchange("127.0.0.1", server.port), b"127.0.0.1\n127.0.0.1\n")
        self.assertEqual(exchange("::1", server.port), b"::1\n::1\n")
        # An IPv6 client that names the IPv4 address the mapped way is still written as IPv4.
        self.assertEqual(exchange("::ffff:127.0.0.1", server.port), b"127.0.0.1\n127.0.0.1\n")

    def test_ipv6_addresses_in_rfc_5952_form(self):
        # An address of our own in a network namespace of our own: nothing leaves it.
        if os.geteuid() != 0:
            self.skipTest("a network namespace needs root")
        unshare, ip = which("unshare"), which("ip")
        inside = textwrap.dedent(f"""
            import os, socket, subprocess, sys
            subprocess.run([{ip!r}, "link", "set", "lo", "up"], check=True)
            subprocess.run([{ip!r}, "-6", "addr", "add", "2001:DB8:0:0:1::1/128", "dev", "lo", "nodad"],
                           check=True)
            listener = socket.socket(socket.AF_INET6)
            listener.bind(("2001:0db8:0000:0000:0001:0000:0000:0001", 0))
            listener.listen(1)
            os.dup2(listener.fileno(), 3)
            server = subprocess.Popen(sys.argv[1:], pass_fds=[3])
            with socket.create_connection(listener.getsockname()[:2], timeout={CLIENT_TIMEOUT}) as client:
                sys.stdout.write(client.makefile().read())
            server.kill()
            server.wait()
        """)
        # Two runs of two zero groups: the first is the one written "::".
        self.case(APPLET, ["printenv", "TCPLOCALIP", "TCPREMOTEIP"],
                  stdout="2001:db8::1:0:0:1\n2001:db8::1:0:0:1\n",
                  wrap=lambda argv: [unshare, "--net", PYTHON, "-c", inside] + argv)

    def test_local_address_of_a_wildcard_listener_is_the_one_connected_to(self):
        server = self.serve([ACCEPT, "printenv", "TCPLOCALIP"], host="0.0.0.0")
        self.assertEqual(exchange("127.0.0.1", server.port), b"127.0.0.1\n")
        self.assertEqual(exchange("127.0.0.2", server.port), b"127.0.0.2\n")
        self.assertEqual(exchange("127.0.0.1", server.port), b"127.0.0.1\n")

    def test_local_address_of_the_ipv4_wildcard_written_as_ipv6(self):
        # ::ffff:0.0.0.0 is 0.0.0.0 too: the address connected to, never the wildcard.
        server = self.serve([ACCEPT, "printenv", "TCPLOCALIP"], host="::ffff:0.0.0.0")
        self.assertEqual(exchange("127.0.0.2", server.port), b"127.0.0.2\n")

    def test_localname(self):
        for option in [["-l", "gateway.example"], ["--localname=gateway.example"],
                       ["--localname", "gateway.example"], ["-lgateway.example"]]:
            with self.subTest(option=option):
                server = self.serve([ACCEPT] + option + ["printenv", "TCPLOCALHOST"],
                                    env=dict(os.environ, TCPLOCALHOST="stale.example"))
                self.assertEqual(exchange("127.0.0.1", server.port), b"gateway.example\n")

    def test_keepalives_and_no_delay_as_the_handler_sees_them(self):
        for options, expected in [([], (0, 0)), (["-k"], (1, 0)), (["--no-delay"], (0, 1)),
                                  (["-kD"], (1, 1)), (["--keepalives", "-D"], (1, 1))]:
            with self.subTest(options=options):
                for host in ["127.0.0.1", "::1"]:
                    _, seen = self.report(*options, host=host)
                    self.assertEqual((bool(seen["options"]["keepalive"]), bool(seen["options"]["nodelay"])),
                                     tuple(map(bool, expected)))

    def test_in_process_applet_after_accept(self):
        # The next link is an applet: forked, and the chain goes on in the child.
        server = self.serve([ACCEPT, "-k", "fdmove", "-c", "5", "0"] + REPORT, env=dict(os.environ, **STALE))
        seen = json.loads(exchange("127.0.0.1", server.port))
        child = seen["env"]
        self.assertEqual([child[name] for name in ["PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP"]],
                         ["TCP", "127.0.0.1", str(server.port), "127.0.0.1"])
        for name in NEVER_SET + UNSET_BY_ACCEPT + ["TCPLOCALHOST"]:
            self.assertNotIn(name, child)
        self.assertEqual(seen["options"]["keepalive"], 1)
        self.check_descriptors(seen, server, extra=["5"])

    def test_same_child_state_while_others_run(self):
        waiting_report = probe("import sys; sys.stdin.buffer.read()\n" + REPORT[2])
        server = self.serve([ACCEPT] + waiting_report, env=dict(os.environ, **STALE))
        clients = [connect("127.0.0.1", server.port) for _ in range(4)]
        try:
            for n in range(1, 5):
                wait_for(lambda: len(server.children()) >= n, "the child to start")
            for client in reversed(clients):
                client.shutdown(socket.SHUT_WR)
                seen = json.loads(read_all(client))
                self.check_descriptors(seen, server)
                self.assertEqual(seen["env"]["TCPREMOTEPORT"], str(client.getsockname()[1]))
                for name in NEVER_SET + UNSET_BY_ACCEPT:
                    self.assertNotIn(name, seen["env"])
        finally:
            for client in clients:
                client.close()

    def test_signals_as_inherited(self):
        def setup():
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, {signal.SIGUSR2})

        def bit(signum):
            return 1 << (signum - 1)

        for chain in [[], ["fdmove", "1", "1"]]:
            with self.subTest(chain=chain):
                server = self.serve([ACCEPT] + chain + ["grep", "^Sig[BI]", "/proc/self/status"], preexec=setup)
                lines = exchange("127.0.0.1", server.port).decode().split()
                fields = dict(zip(lines[0::2], lines[1::2]))
                blocked, ignored = int(fields["SigBlk:"], 16), int(fields["SigIgn:"], 16)
                self.assertEqual(blocked, bit(signal.SIGUSR2))
                self.assertEqual(ignored & (bit(signal.SIGUSR1) | bit(signal.SIGCHLD) | bit(signal.SIGPIPE)),
                                 bit(signal.SIGUSR1) | bit(signal.SIGCHLD), "SIGPIPE back to its default")
                # An ignored SIGCHLD did not stop the server from reaping.
                wait_for(lambda: server.children() == [], "the child to be reaped")
                server.stop()

    def test_an_ignored_sigpipe_stays_ignored_in_children(self):
        handler = ["/bin/sh", "-c", 'sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status']
        server = self.serve([ACCEPT] + handler, preexec=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN))
        self.assertTrue(int(exchange("127.0.0.1", server.port), 16) & (1 << (signal.SIGPIPE - 1)))

    def test_server_without_stdin(self):
        server = self.serve([ACCEPT] + REPORT, preexec=lambda: os.close(0))
        self.check_descriptors(json.loads(exchange("127.0.0.1", server.port)), server)


class Clients(AcceptTestCase):
    """Real clients: what they send arrives, what the handler says comes back."""

    def test_tcpclient(self):
        tcpclient = which("tcpclient")
        server = self.serve([ACCEPT, "sh", "-c", 'read line; echo "$line from $TCPREMOTEIP:$TCPREMOTEPORT via $PROTO"'])
        # tcpclient gives its program the connection on 6 (read) and 7 (write), and its own port.
        result = run([tcpclient, "-HRl0", "127.0.0.1", str(server.port), "sh", "-c",
                      'echo hello >&7; head -n 1 <&6; echo "$TCPLOCALPORT"'])
        self.assertExit(result, 0)
        reply, port = result.stdout.splitlines()
        self.assertEqual(reply, f"hello from 127.0.0.1:{port} via TCP")

    def test_curl(self):
        curl = which("curl")
        http = probe(textwrap.dedent(r"""
            import os, sys
            request = sys.stdin.buffer.readline().decode().split()
            while sys.stdin.buffer.readline() not in (b"\r\n", b"\n", b""):
                pass
            body = f"{request[1]} from {os.environ['TCPREMOTEIP']} to {os.environ['TCPLOCALIP']}\n".encode()
            sys.stdout.buffer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
        """))
        server = self.serve([ACCEPT, "-D"] + http, host="::")
        for url, origin in [(f"http://127.0.0.1:{server.port}/one", "127.0.0.1"),
                            (f"http://[::1]:{server.port}/two", "::1")]:
            with self.subTest(url=url):
                result = run([curl, "-sS", "--max-time", str(CLIENT_TIMEOUT), url])
                self.assertClean(result, f"/{url.rsplit('/', 1)[1]} from {origin} to {origin}\n")

    def test_busybox_nc(self):
        busybox = which("busybox")
        server = self.serve([ACCEPT, "sh", "-c", 'read line; echo "got $line on $TCPLOCALPORT"'])
        result = run([busybox, "nc", "127.0.0.1", str(server.port)], input="hello\n")
        self.assertClean(result, f"got hello on {server.port}\n")

    def test_python_client_talks_back_and_forth(self):
        server = self.serve([ACCEPT, "cat"], host="::1")
        with connect("::1", server.port) as client:
            for i in range(5):
                client.sendall(b"line %d\n" % i)
                self.assertEqual(client.recv(100), b"line %d\n" % i)
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(client), b"")


class Limits(AcceptTestCase):
    def refusal(self, name, limit):
        return f"{APPLET}: ERROR: {name}: at the limit of {limit} connections per source address; connection closed"

    def test_connection_limit_is_never_exceeded(self):
        limit, total = 2, 6
        server = self.serve([ACCEPT, "-v", "-c", str(limit), "cat"])
        clients = [connect("127.0.0.1", server.port) for _ in range(total)]
        check_limit_held(self, server, clients, limit, (STARTED, ENDED, CONNECTION))

    def hold(self, host, port, source=None):
        client = connect(host, port, source)
        self.addCleanup(client.close)
        client.sendall(b"held\n")
        self.assertEqual(client.recv(100), b"held\n")
        return client

    def test_per_source_limit(self):
        server = self.serve([ACCEPT, "-v", "-C", "2", "cat"])
        first, second = self.hold("127.0.0.1", server.port), self.hold("127.0.0.1", server.port)
        # A third from the same address: closed without being served.
        self.assertTrue(turned_away("127.0.0.1", server.port))
        wait_for(lambda: "ERROR" in server.log(), "the refusal")
        self.assertIn(self.refusal("127.0.0.1", 2) + "\n", server.log())
        # Another address is another source.
        self.assertEqual(exchange("127.0.0.1", server.port, b"other\n", source="127.0.0.2"), b"other\n")
        self.assertEqual(len(server.lines(STARTED)), 3)
        first.close()
        wait_for(lambda: len(server.lines(ENDED)) == 2, "the first child to end")
        self.assertEqual(exchange("127.0.0.1", server.port, b"again\n"), b"again\n")
        second.close()
        errors = [line for line in server.log().splitlines() if "ERROR" in line]
        self.assertEqual(errors, [self.refusal("127.0.0.1", 2)])

    def test_quiet_refusals_write_nothing(self):
        server = self.serve([ACCEPT, "-q", "--connection-limit-per-source=1", "cat"])
        self.hold("127.0.0.1", server.port)
        for _ in range(10):
            self.assertTrue(turned_away("127.0.0.1", server.port))
        self.assertEqual(exchange("127.0.0.1", server.port, b"other\n", source="127.0.0.2"), b"other\n")
        self.assertEqual(server.log(), "")

    def test_quiet_keeps_the_verbose_lines(self):
        server = self.serve([ACCEPT, "-qv", "-C", "1", "cat"])
        held = self.hold("127.0.0.1", server.port)
        self.assertEqual(exchange("127.0.0.1", server.port), b"")
        held.close()
        wait_for(lambda: server.lines(ENDED), "the child to end")
        self.assertNotIn("ERROR", server.log())
        self.assertEqual(len(server.lines(STARTED)), 1)

    def test_prefix4_makes_one_source_of_a_network(self):
        server = self.serve([ACCEPT, "--per-source-prefix4", "24", "-C", "1", "cat"])
        self.hold("127.0.0.1", server.port)
        self.assertTrue(turned_away("127.0.0.1", server.port, source="127.0.0.2"))
        wait_for(lambda: "ERROR" in server.log(), "the refusal")
        self.assertEqual(server.log(), self.refusal("127.0.0.0/24", 1) + "\n")
        # 127.0.1.1 is another /24.
        self.assertEqual(exchange("127.0.0.1", server.port, b"y\n", source="127.0.1.1"), b"y\n")

    def test_prefix4_zero_is_every_ipv4_client(self):
        server = self.serve([ACCEPT, "--per-source-prefix4=0", "-C", "1", "cat"], host="::")
        self.hold("127.0.0.1", server.port, source="127.1.2.3")
        self.assertTrue(turned_away("127.0.0.1", server.port, source="127.200.0.1"))
        # IPv6 clients are counted apart, whatever the prefixes.
        self.assertEqual(exchange("::1", server.port, b"v6\n"), b"v6\n")
        wait_for(lambda: "ERROR" in server.log(), "the refusal")
        self.assertEqual(server.log(), self.refusal("0.0.0.0/0", 1) + "\n")

    def test_ipv6_clients_count_per_64_by_default(self):
        for options, name in [([], "::/64"), (["--per-source-prefix6", "128"], "::1"),
                              (["--per-source-prefix6=0"], "::/0")]:
            with self.subTest(options=options):
                server = self.serve([ACCEPT, "-C", "1"] + options + ["cat"], host="::")
                held = self.hold("::1", server.port)
                self.assertTrue(turned_away("::1", server.port))
                # An IPv4 client on the same dual-stack listener is another source.
                self.assertEqual(exchange("127.0.0.1", server.port, b"v4\n"), b"v4\n")
                wait_for(lambda: "ERROR" in server.log(), "the refusal")
                self.assertEqual(server.log(), self.refusal(name, 1) + "\n")
                held.close()
                server.stop()

    def test_per_source_limit_counts_live_children_only(self):
        server = self.serve([ACCEPT, "-C", "2", "cat"])
        for i in range(10):
            self.assertEqual(exchange("127.0.0.1", server.port, b"%d" % i), b"%d" % i)
            wait_for(lambda: server.children() == [], "the child to end")
        self.assertEqual(server.log(), "")


class Verbose(AcceptTestCase):
    def test_log_lines(self):
        for host in ["127.0.0.1", "::1"]:
            with self.subTest(host=host):
                server = self.serve([ACCEPT, "-v", "-c", "7", "sh", "-c", "cat; exit 3"], host=host)
                with connect(host, server.port) as client:
                    client_port = client.getsockname()[1]
                    client.sendall(b"x\n")
                    client.shutdown(socket.SHUT_WR)
                    self.assertEqual(read_all(client), b"x\n")
                wait_for(lambda: server.lines(ENDED), "the ended line")
                lines = server.log().splitlines()
                self.assertEqual(len(lines), 3, lines)
                started, connection, ended = (STARTED.match(lines[0]), CONNECTION.match(lines[1]),
                                              ENDED.match(lines[2]))
                self.assertTrue(started and connection and ended, lines)
                pid = started.group(1)
                self.assertEqual(started.group(2, 3), ("1", "7"))
                self.assertEqual(connection.groups(), (pid, host, str(server.port), host, str(client_port)))
                self.assertEqual(ended.groups(), (pid, "1", "3", "0", "7"))

    def test_killed_child(self):
        server = self.serve([ACCEPT, "--verbose", "sh", "-c", "kill -9 $$"], host="::")
        self.assertEqual(exchange("127.0.0.1", server.port), b"")
        ended = wait_for(lambda: server.lines(ENDED), "the ended line")
        self.assertEqual(ended[0].group(2, 3, 4, 5), ("2", "9", "0", "40"))
        self.assertEqual(server.lines(CONNECTION)[0].group(2, 4), ("127.0.0.1", "127.0.0.1"))

    def test_nothing_without_verbose(self):
        server = self.serve([ACCEPT, "true"])
        for _ in range(5):
            self.assertEqual(exchange("127.0.0.1", server.port), b"")
        wait_for(lambda: server.children() == [], "children to be reaped")
        self.assertEqual(server.log(), "")

    def test_handler_that_went_away(self):
        handler = os.path.join(self.dir, "handler")
        with open(handler, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(handler, 0o755)
        server = self.serve([ACCEPT, "-v", handler])
        self.assertEqual(exchange("127.0.0.1", server.port), b"hi\n")
        # The client sees end of file when the first child closes its
        # descriptors, a moment before that child can be reaped: wait for its
        # line, or the second child's may come first.
        wait_for(lambda: server.lines(ENDED), "the first ended line")
        os.unlink(handler)
        self.assertEqual(exchange("127.0.0.1", server.port), b"")
        wait_for(lambda: len(server.lines(ENDED)) == 2, "two ended lines")
        self.assertIn(f"{APPLET}: FATAL: {handler}: No such file or directory\n", server.log())
        self.assertEqual(server.lines(ENDED)[1].group(2, 3), ("1", "127"))
        with open(handler, "w") as f:
            f.write("#!/nonexistent/sh\necho hi\n")
        os.chmod(handler, 0o755)
        self.assertEqual(exchange("127.0.0.1", server.port), b"")
        wait_for(lambda: len(server.lines(ENDED)) == 3, "three ended lines")
        self.assertEqual(server.lines(ENDED)[2].group(2, 3), ("1", "126"))


class Robustness(AcceptTestCase):
    def test_descriptor_exhaustion_is_transient(self):
        # Five descriptors: 0, 1, 2, the listener and the signalfd; accept fails with EMFILE.
        server = self.serve([ACCEPT, "cat"], preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (5, 64)))
        clients = [connect("127.0.0.1", server.port) for _ in range(20)]
        try:
            for i, client in enumerate(clients):
                client.sendall(b"%d\n" % i)
                client.shutdown(socket.SHUT_WR)
            wait_for(lambda: "Too many open files" in server.log(), "an EMFILE error line")
            self.assertEqual(server.log().splitlines()[0],
                             f"{APPLET}: ERROR: accept on descriptor 3: Too many open files")
            self.assertIsNone(server.process.poll(), "the server is still running")
            # Back-off, not a busy loop: at most about ten lines a second.
            time.sleep(0.5)
            self.assertLess(len(server.log().splitlines()), 50)
            resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (64, 64))
            for i, client in enumerate(clients):
                self.assertEqual(read_all(client), b"%d\n" % i)
        finally:
            for client in clients:
                client.close()
        self.assertEqual(exchange("127.0.0.1", server.port, b"after\n"), b"after\n")

    def test_burst_of_1000_leaves_no_zombie_and_no_descriptor(self):
        server = self.serve([ACCEPT, "-v", "-c", "64", "/bin/true"],
                            listeners=[listener("127.0.0.1", backlog=128)])
        self.assertEqual(exchange("127.0.0.1", server.port), b"")
        wait_for(lambda: server.children() == [], "the first child to end")
        before = open_descriptors(server.pid)
        check_burst(self, server, lambda: exchange("127.0.0.1", server.port), (STARTED, ENDED), before=1)
        self.assertEqual(open_descriptors(server.pid), before)
        self.assertNotIn("ERROR", server.log())

    def test_clients_that_vanish(self):
        server = self.serve([ACCEPT, "-v", "sh", "-c", "exec cat 2>/dev/null"], host="::")
        # The handler's own complaints (a reset connection) stay out of the server's log.
        # Gone before being served, reset (SO_LINGER 0), or with data unread.
        for host in ["127.0.0.1", "::1"]:
            for _ in range(15):
                connect(host, server.port).close()
            for _ in range(15):
                client = connect(host, server.port)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                client.close()
            for _ in range(5):
                client = connect(host, server.port)
                client.sendall(b"x" * 100000)
                client.close()
        self.assertEqual(exchange("127.0.0.1", server.port, b"still here\n"), b"still here\n")
        wait_for(lambda: server.children() == [], "every child to end")
        # A child is reaped a moment before its line is written.
        wait_for(lambda: len(server.lines(ENDED)) == len(server.lines(STARTED)), "every ended line")
        self.assertNotIn("ERROR", server.log())
        self.assertNotIn("FATAL", server.log())

    def test_serves_under_valgrind(self):
        # Valgrind cannot run a child that shares the server's memory; the server forks instead.
        valgrind = which("valgrind")
        if os.environ.get("TOOLKIT_SANITIZED") == "1":
            self.skipTest("Valgrind cannot run a program built with AddressSanitizer")
        server = self.serve([valgrind, "-q", "--tool=none", ACCEPT, "printenv", "PROTO"])
        for _ in range(3):
            self.assertEqual(exchange("127.0.0.1", server.port), b"TCP\n")
        self.assertEqual(server.log(), "")


class Signals(AcceptTestCase):
    def test_term_int_hup_end_the_server_not_the_children(self):
        for signum in [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]:
            with self.subTest(signal=signum.name):
                server = self.serve([ACCEPT, "cat"],
                                    preexec=lambda signum=signum: signal.signal(signum, signal.SIG_DFL))
                client = connect("127.0.0.1", server.port)
                client.sendall(b"before\n")
                self.assertEqual(client.recv(100), b"before\n")
                os.kill(server.pid, signum)
                self.assertEqual(server.process.wait(timeout=WAIT_LIMIT), -signum)
                # The child still serves its client; new clients are refused.
                client.sendall(b"after\n")
                client.shutdown(socket.SHUT_WR)
                self.assertEqual(read_all(client), b"after\n")
                client.close()
                with self.assertRaises(ConnectionRefusedError):
                    connect("127.0.0.1", server.port)

    def test_process_name(self):
        server = self.serve([ACCEPT, "cat"])
        self.assertEqual(process_name(server.pid), PROCESS_NAME)


class Chains(AcceptTestCase):
    """Whole chains with the real tcp-socket-listen in front."""

    def test_listen_and_accept_in_one_process(self):
        server = self.chain([LISTEN, "127.0.0.1", "0", APPLET, "-v", "printenv", "PROTO", "TCPLOCALPORT"])
        self.assertEqual(exchange("127.0.0.1", server.port), f"TCP\n{server.port}\n".encode())
        self.assertEqual(process_name(server.pid), PROCESS_NAME)
        wait_for(lambda: server.lines(ENDED), "the ended line")
        self.assertRegex(server.lines(CONNECTION)[0].group(0),
                         rf"^{APPLET}: \d+ 127\.0\.0\.1 {server.port} 127\.0\.0\.1 \d+$")

    def test_port_printed_by_a_shell_in_between(self):
        port_file = os.path.join(self.dir, "port")
        print_port = "import socket; print(socket.socket(fileno=3).getsockname()[1])"
        server = self.chain([LISTEN, "::", "0", "sh", "-c",
                             f'{PYTHON} -c "{print_port}" > {port_file}; exec "$@"', "sh",
                             ACCEPT, "-c", "4", "printenv", "TCPREMOTEIP"])
        with open(port_file) as f:
            self.assertEqual(int(f.read()), server.port)
        self.assertEqual(exchange("127.0.0.1", server.port), b"127.0.0.1\n")
        self.assertEqual(exchange("::1", server.port), b"::1\n")

    def test_two_listeners_stacked_for_systemd(self):
        server = self.chain([LISTEN, "--systemd-compatibility", "--name", "v4", "127.0.0.1", "0",
                             LISTEN, "--systemd-compatibility", "--name", "v6", "::1", "0",
                             APPLET] + REPORT, count=2)
        for host, port in zip(["127.0.0.1", "::1"], server.ports):
            seen = json.loads(exchange(host, port))
            self.assertEqual(seen["env"]["TCPLOCALIP"], host)
            self.assertEqual(seen["env"]["TCPLOCALPORT"], str(port))
            for name in UNSET_BY_ACCEPT:
                self.assertNotIn(name, seen["env"])
            self.check_descriptors(seen, server)

    def test_upstart_variables_of_the_listener_stop_at_the_server(self):
        server = self.chain([LISTEN, "--upstart-compatibility", "127.0.0.1", "0", APPLET] + REPORT)
        seen = json.loads(exchange("127.0.0.1", server.port))
        for name in UNSET_BY_ACCEPT:
            self.assertNotIn(name, seen["env"])

    def test_dropped_to_an_account(self):
        if os.geteuid() != 0:
            self.skipTest("changing identity needs root")
        server = self.chain([LISTEN, "::", "0", "setuidgid", "nobody", APPLET, "-C", "8",
                             "sh", "-c", 'echo "$(id -u) $TCPREMOTEIP"'])
        uid = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout.strip()
        self.assertEqual(exchange("127.0.0.1", server.port), f"{uid} 127.0.0.1\n".encode())
        with open(f"/proc/{server.pid}/status") as f:
            self.assertRegex(f.read(), rf"\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")

    def test_server_survives_the_reader_of_its_stderr(self):
        fifo = os.path.join(self.dir, "log")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["head", "-n", "1", fifo], stdout=subprocess.PIPE)
        self.addCleanup(reader.wait, WAIT_LIMIT)
        handler = ["/bin/sh", "-c", 'mask=$(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status); '
                   'if [ $(( 0x$mask & 0x1000 )) -ne 0 ]; then echo ignored; else echo default; fi']
        with open(fifo, "w") as log:
            process = subprocess.Popen([LISTEN, "127.0.0.1", "0", APPLET, "-v"] + handler,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                       start_new_session=True,
                                       preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_DFL))
        self.addCleanup(lambda: (os.killpg(process.pid, signal.SIGKILL), process.wait(WAIT_LIMIT)))
        port = wait_for(lambda: process_name(process.pid) == PROCESS_NAME and listening_port(process.pid, 3),
                        "the server")
        self.assertEqual(exchange("127.0.0.1", port), b"default\n")
        reader.wait(timeout=WAIT_LIMIT)
        self.assertRegex(reader.stdout.read().decode(), rf"^{APPLET}: \d+ started 1/40\n$")
        reader.stdout.close()
        for _ in range(5):
            self.assertEqual(exchange("127.0.0.1", port), b"default\n")
        self.assertIsNone(process.poll(), "the server died")


if __name__ == "__main__":
    main()
