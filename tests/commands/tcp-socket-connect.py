"""End-to-end tests of tcp-socket-connect: the program at the end of the chain
talks to real servers (a Python server, our own tcp-socket-listen and
tcp-socket-accept, tcpserver, socat) on 127.0.0.1 and ::1 over descriptors 6 and 7 and reports what it
inherited. Timed-out and unreachable connections are made inside a network
namespace the test creates, never towards an outside address."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, DESCRIBE_CLIENT, FAILURE, NOT_FOUND, TALK, TOOLKIT, USAGE, ToolkitTestCase,
                     main, probe, run, socket_port, wait_for, which)

APPLET = "tcp-socket-connect"

VARIABLES = ["PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALHOST",
             "TCPREMOTEHOST", "TCPREMOTEINFO"]
SHOW = ["sh", "-c", "for v in " + " ".join(VARIABLES) + '; do eval "echo $v=\\${$v-unset}"; done']

# A server on descriptor 3 (from tcp-socket-listen) that answers one line,
# after saying which port it listens on.
PONG_ON_FD3 = textwrap.dedent("""
    import socket
    s = socket.socket(fileno=3)
    print(s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        line = c.makefile("rb").readline()
        c.sendall(b"PONG:" + line)
        c.close()
""")

PONG = "#!/bin/sh\nread line\necho \"PONG:$line\"\n"


class Server:
    """A server of the test itself on HOST (port 0): answers each connection's
    first line with PONG:LINE and records the client address it saw."""

    def __init__(self, family, host):
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.bind((host, 0))
        self.socket.listen(8)
        self.socket.settimeout(20)
        self.port = self.socket.getsockname()[1]
        self.peers = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, peer = self.socket.accept()
            except OSError:
                return
            self.peers.append(peer[:2])
            with connection:
                connection.settimeout(20)
                line = connection.makefile("rb").readline()
                connection.sendall(b"PONG:" + line)

    def close(self):
        self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self.thread.join(20)


def free_port(host="127.0.0.1"):
    """A port nobody uses right now (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ConnectTest(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-tconnect-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def server(self, family=socket.AF_INET, host="127.0.0.1"):
        server = Server(family, host)
        self.addCleanup(server.close)
        return server

    def script(self, name, text, mode=0o755):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def background(self, argv, port):
        """Start the server ARGV and wait (at most 20 s) until 127.0.0.1 PORT takes connections."""
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (process.kill(), process.wait()))
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=20).close()
                return process
            except ConnectionRefusedError:
                if process.poll() is not None:
                    self.fail(f"{argv[0]} ended with {process.returncode}")
                time.sleep(0.05)
        self.fail(f"{argv[0]} never took a connection")

    # --- the connection and the environment -----------------------------------

    def test_descriptors_6_and_7_are_the_connection(self):
        server = self.server()
        self.case(APPLET, ["127.0.0.1", str(server.port)] + probe(DESCRIBE_CLIENT),
                  stdout="0 1 2 6 7\nsame socket True\n"
                         "6 AF_INET SOCK_STREAM blocking True cloexec False\n"
                         "7 AF_INET SOCK_STREAM blocking True cloexec False\n")

    def test_environment_ipv4_and_ipv6(self):
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with self.subTest(host=host):
                server = self.server(family, host)
                results = self.case(APPLET, [host, str(server.port)] + SHOW,
                                    extra_env={"TCPLOCALHOST": "x", "TCPREMOTEHOST": "y", "TCPREMOTEINFO": "z"})
                # The client may be done before the server's thread has accepted its connection.
                wait_for(lambda: len(server.peers) >= 2, "both connections accepted")
                for result, peer in zip(results, server.peers):
                    self.assertEqual(result.stdout,
                                     f"PROTO=TCP\nTCPLOCALIP={host}\nTCPLOCALPORT={peer[1]}\n"
                                     f"TCPREMOTEIP={host}\nTCPREMOTEPORT={server.port}\n"
                                     "TCPLOCALHOST=unset\nTCPREMOTEHOST=unset\nTCPREMOTEINFO=unset\n")
                self.assertEqual(len(server.peers), 2)

    def test_ipv4_mapped_address_is_written_as_ipv4(self):
        server = self.server(socket.AF_INET6, "::")
        self.case(APPLET, ["::ffff:127.0.0.1", str(server.port), "printenv", "TCPLOCALIP", "TCPREMOTEIP"],
                  stdout="127.0.0.1\n127.0.0.1\n")

    def test_local_address_and_port(self):
        server = self.server()
        # All of 127.0.0.0/8 is this machine's.
        self.case(APPLET, ["--local-address", "127.0.0.2", "127.0.0.1", str(server.port),
                           "printenv", "TCPLOCALIP"], stdout="127.0.0.2\n")
        wait_for(lambda: len(server.peers) >= 2, "both connections accepted")
        self.assertEqual([peer[0] for peer in server.peers], ["127.0.0.2"] * 2)
        # A fresh local port for each invocation form: the first form's
        # connection may linger in TIME_WAIT with the very same four-tuple,
        # which connect(2) may not reuse within the same second.
        ports = {}

        def from_port(host, argv):
            def args(form):
                ports[form] = free_port(host)
                return ["--local-port", str(ports[form])] + argv
            return args

        self.case(APPLET, from_port("127.0.0.1", ["127.0.0.1", str(server.port), "printenv", "TCPLOCALPORT"]),
                  then=lambda result, form: self.assertEqual(result.stdout, f"{ports[form]}\n"))
        server6 = self.server(socket.AF_INET6, "::1")
        self.case(APPLET, from_port("::1", ["--local-address", "::1", "::1", str(server6.port),
                                           "printenv", "TCPLOCALIP", "TCPLOCALPORT"]),
                  then=lambda result, form: self.assertEqual(result.stdout, f"::1\n{ports[form]}\n"))

    def test_local_port_of_a_connection_in_time_wait(self):
        # A connection from PORT that this side closed first lingers in TIME_WAIT;
        # giving PORT again must work (SO_REUSEADDR; tcpclient -p fails here).
        # A fresh port for each invocation form: reusing one against the same
        # server would meet the first form's own TIME_WAIT four-tuple.
        server = self.server()
        ports = {}

        def args(form):
            port = ports[form] = free_port()
            with socket.socket() as listener, socket.socket() as client:
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                client.bind(("127.0.0.1", port))
                client.connect(listener.getsockname())
                accepted, _ = listener.accept()
                client.close()
                accepted.close()
            wait_for(lambda: f":{port} " in run(["ss", "-tanH", "state", "time-wait"]).stdout,
                     "the first connection in TIME_WAIT")
            return ["--local-port", str(port), "127.0.0.1", str(server.port), "printenv", "TCPLOCALPORT"]

        self.case(APPLET, args, then=lambda result, form: self.assertEqual(result.stdout, f"{ports[form]}\n"))

    def test_connect_timeout_that_is_not_reached(self):
        server = self.server()
        self.case(APPLET, ["--connect-timeout", "20", "127.0.0.1", str(server.port)] + TALK,
                  stdout="PONG:PING\n")

    # --- real servers ----------------------------------------------------------

    def test_python_server(self):
        server = self.server()
        self.case(APPLET, ["127.0.0.1", str(server.port)] + TALK, stdout="PONG:PING\n")

    def test_our_own_tcp_socket_listen(self):
        process = subprocess.Popen([TOOLKIT, "tcp-socket-listen", "::", "0"] + probe(PONG_ON_FD3),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (process.kill(), process.wait(), process.stdout.close()))
        port = process.stdout.readline().strip()
        self.assertTrue(port.isdigit(), port)
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                self.case(APPLET, [host, port] + TALK, stdout="PONG:PING\n")

    def test_our_own_tcp_socket_accept(self):
        """Our client against our server, each side reporting the connection as
        it sees it: the two must be mirror images (the handler's remote port is
        the client's local port, and so on), on IPv4, IPv6, and IPv4 clients of
        a dual-stack server (written as plain IPv4 on both sides)."""
        handler = self.script("handler", '#!/bin/sh\nread line\n'
                                         'echo "$PROTO $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP $TCPREMOTEPORT $line"\n')
        client = ["sh", "-c", 'echo "$PROTO $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP $TCPREMOTEPORT"; '
                              'printf "PING\\n" >&7; head -n1 <&6']
        for listen_host, host in (("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::", "127.0.0.1")):
            with self.subTest(listen=listen_host, connect=host):
                notify = os.path.join(self.dir, "notify")
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
                    receiver.bind(notify)
                    receiver.settimeout(20)
                    server = subprocess.Popen([TOOLKIT, "tcp-socket-listen", "--sd-notify", listen_host, "0",
                                               "tcp-socket-accept", handler], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                              env=dict(os.environ, NOTIFY_SOCKET=notify))
                    self.addCleanup(lambda server=server: (server.kill(), server.wait(), server.stderr.close()))
                    self.assertEqual(receiver.recv(64), b"READY=1")  # the server serves from now on
                os.unlink(notify)
                port = str(socket_port(server.pid))
                for result in self.case(APPLET, [host, port] + client):
                    mine, theirs = result.stdout.splitlines()
                    proto, local_ip, local_port, remote_ip, remote_port = mine.split()
                    self.assertEqual((proto, local_ip, remote_ip, remote_port), ("TCP", host, host, port))
                    self.assertEqual(theirs.split(), ["TCP", remote_ip, remote_port, local_ip, local_port, "PING"])

    def test_tcpserver(self):
        tcpserver = which("tcpserver")
        port = free_port()
        self.background([tcpserver, "-RHl0", "127.0.0.1", str(port), self.script("pong", PONG)], port)
        self.case(APPLET, ["127.0.0.1", str(port)] + TALK, stdout="PONG:PING\n")

    def test_socat_server(self):
        socat = which("socat")
        port = free_port()
        self.background([socat, f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                         "EXEC:" + self.script("pong", PONG)], port)
        self.case(APPLET, ["127.0.0.1", str(port)] + TALK, stdout="PONG:PING\n")

    # --- connections that cannot be made --------------------------------------

    def test_refused(self):
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family) as closed:  # bound, never listening: refuses
                    closed.bind((host, 0))
                    port = closed.getsockname()[1]
                    self.case(APPLET, [host, str(port), "echo", "ran"], status=FAILURE, stdout="",
                              stderr=f"{APPLET}: FATAL: {host} port {port}: Connection refused\n")

    def test_local_address_not_on_this_machine(self):
        server = self.server()
        self.case(APPLET, ["--local-address", "192.0.2.1", "127.0.0.1", str(server.port), "echo", "ran"],
                  status=FAILURE, stdout="", fatal="192.0.2.1 port 0: Cannot assign requested address")

    def namespace(self):
        """A fresh network namespace of this test (removed afterwards): a
        wrapper that runs a command in it."""
        if os.geteuid() != 0:
            self.skipTest("making a network namespace needs root")
        ip = which("ip")
        name = f"toolkit-test-{os.getpid()}-{len(os.listdir(self.dir))}"
        os.mkdir(os.path.join(self.dir, name))
        made = run([ip, "netns", "add", name])
        if made.returncode != 0:
            self.skipTest(f"cannot make a network namespace: {made.stderr.strip()}")
        self.addCleanup(run, [ip, "netns", "delete", name])
        return lambda argv: [ip, "netns", "exec", name] + argv

    def test_timed_out(self):
        inside = self.namespace()
        nft = which("nft")
        # Loopback in the namespace drops every SYN to port 9: nobody ever answers.
        for command in (["ip", "link", "set", "lo", "up"],
                        [nft, "add", "table", "inet", "toolkit"],
                        [nft, "add", "chain", "inet", "toolkit", "input",
                         "{ type filter hook input priority 0; policy accept; }"],
                        [nft, "add", "rule", "inet", "toolkit", "input", "tcp", "dport", "9", "drop"]):
            made = run(inside(command))
            if made.returncode != 0:
                self.skipTest(f"cannot set up the namespace: {made.stderr.strip()}")
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                self.case(APPLET, ["--connect-timeout", "1", host, "9", "echo", "ran"], wrap=inside,
                          status=FAILURE, stdout="",
                          stderr=f"{APPLET}: FATAL: {host} port 9: Connection timed out\n")

    def test_unreachable(self):
        # In a new namespace even loopback is down: no route anywhere.
        inside = self.namespace()
        self.case(APPLET, ["127.0.0.1", "9", "echo", "ran"], wrap=inside, status=FAILURE, stdout="",
                  stderr=f"{APPLET}: FATAL: 127.0.0.1 port 9: Network is unreachable\n")

    # --- usage errors and the next program ------------------------------------

    def test_usage_errors(self):
        self.case(APPLET, [], status=USAGE, fatal="HOST: missing operand")
        self.case(APPLET, ["127.0.0.1"], status=USAGE, fatal="PORT: missing operand")
        self.case(APPLET, ["127.0.0.1", "80"], status=USAGE, fatal="NEXT-PROG: missing next program")
        self.case(APPLET, ["localhost", "80", "true"], status=USAGE,
                  fatal=("HOST: localhost is a host name", "numeric address"))
        self.case(APPLET, ["127.0.0.1", "http", "true"], status=USAGE, fatal="PORT: not a number: http")
        self.case(APPLET, ["127.0.0.1", "65536", "true"], status=USAGE, fatal=("PORT", "out of range"))
        self.case(APPLET, ["--connect-timeout", "0", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal=("connect-timeout", "out of range"))
        self.case(APPLET, ["--connect-timeout", "2147484", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal=("connect-timeout", "out of range"))
        self.case(APPLET, ["--local-port", "65536", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal=("local-port", "out of range"))
        self.case(APPLET, ["--local-address", "example.com", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal="--local-address: example.com is a host name")
        self.case(APPLET, ["--local-address", "::1", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal="--local-address: ::1 and HOST 127.0.0.1 are not of one address family")
        self.case(APPLET, ["fe80::1", "22", "true"], status=USAGE,
                  fatal="HOST: fe80::1 is link-local: give its interface (such as fe80::1%eth0)")
        self.case(APPLET, ["--local-address", "fe80::2", "fe80::1%lo", "22", "true"], status=USAGE,
                  fatal="--local-address: fe80::2 is link-local: give its interface")
        # A scope on a local address that is not link-local names no interface for HOST.
        self.case(APPLET, ["--local-address", "::1%lo", "fe80::1", "22", "true"], status=USAGE,
                  fatal="HOST: fe80::1 is link-local")
        self.case(APPLET, ["--timeout", "1", "127.0.0.1", "80", "true"], status=USAGE,
                  fatal=("timeout", "unknown option"))

    def test_next_program_not_found_or_not_executable(self):
        server = self.server()
        self.case(APPLET, ["127.0.0.1", str(server.port), "no-such-program-anywhere"], status=NOT_FOUND,
                  fatal="no-such-program-anywhere: not found in PATH")
        plain = self.script("plain", "#!/bin/sh\n", mode=0o644)
        self.case(APPLET, ["127.0.0.1", str(server.port), plain], status=CANNOT_RUN,
                  fatal=(plain, "Permission denied"))
        # Both are known while planning: the server never saw a connection.
        self.assertEqual(server.peers, [])

    def test_whole_chain_is_planned_before_a_listener_acts(self):
        node = os.path.join(self.dir, "node")
        for args, status, message in (
                (["localhost", "80", "true"], USAGE,
                 "HOST: localhost is a host name, and names are never looked up: give a numeric address "
                 "(such as 127.0.0.1 or ::1)"),
                (["127.0.0.1", "80", "no-such-program-anywhere"], NOT_FOUND,
                 "no-such-program-anywhere: not found in PATH")):
            with self.subTest(args=args):
                self.case("local-stream-socket-listen", [node, APPLET] + args, status=status, stdout="",
                          stderr=f"{APPLET}: FATAL: {message}\n")
                self.assertFalse(os.path.lexists(node), "the socket file was left behind")

    def test_help(self):
        for result in self.case(APPLET, ["--help"]):
            self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] HOST PORT NEXT-PROG"))
            self.assertIn("Process name while it runs: tcp-connect\n", result.stdout)


if __name__ == "__main__":
    main()
