"""End-to-end tests of local-seqpacket-socket-accept: SOCK_SEQPACKET listeners
made here and passed on descriptor 3 (or LISTEN_FDS), real clients whose
messages keep their boundaries, and handlers that report what they inherited."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, USAGE, ToolkitTestCase, applet_link, listening,
                     main, probe, wait_for)
from servers import CLIENT_TIMEOUT, WAIT_LIMIT, Server, log_patterns

APPLET = "local-seqpacket-socket-accept"
ACCEPT = applet_link(APPLET)
LISTEN = applet_link("local-seqpacket-socket-listen")

# The handler that reports what it inherited, as one message on the connection.
REPORT = probe(r"""
import json, os, socket
s = socket.fromfd(0, socket.AF_UNIX, socket.SOCK_SEQPACKET)
fds = sorted(int(n) for n in os.listdir('/proc/self/fd'))
s.send(json.dumps({'env': dict(os.environ), 'type': s.type.name,
                   'fds': [fd for fd in fds if fd != max(fds)]}).encode())
""")

# Echoes each message with a prefix, one send per recv: boundaries must survive both ways.
ECHO = probe(r"""
import socket
s = socket.fromfd(0, socket.AF_UNIX, socket.SOCK_SEQPACKET)
while message := s.recv(65536):
    s.send(b"echo:" + message)
""")

UNSET_BY_ACCEPT = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "UPSTART_FDS",
                   "UPSTART_EVENTS", "UNIXLOCALUID", "UNIXLOCALGID", "UNIXLOCALPID"]

STARTED, ENDED = log_patterns(APPLET)
CONNECTION = re.compile(rf"^{APPLET}: (\d+) (\S+) (\S+) (\d+) (\d+) (\d+)$")



def listener(path, kind=socket.SOCK_SEQPACKET, listen=True):
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    if listen and kind != socket.SOCK_DGRAM:
        sock.listen(16)
    return sock


def connect(path, bind=None):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    client.settimeout(CLIENT_TIMEOUT)
    if bind is not None:
        client.bind(bind)
    client.connect(path)
    return client


def on_fds(listeners):
    """A preexec_fn that puts LISTENERS on descriptors 3, 4, ... in the child."""
    fds = [sock.fileno() for sock in listeners]

    def setup():
        moved = [os.dup(fd) for fd in fds]
        for i, fd in enumerate(moved):
            os.dup2(fd, 3 + i)
            os.close(fd)
    return fds, setup


class AcceptTest(ToolkitTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-seqaccept-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name="sock"):
        return os.path.join(self.dir, name)

    def serve(self, argv, listeners=None, **kwargs):
        server = Server(argv, listeners or [listener(self.path())], prefix="toolkit-seqaccept-log-", **kwargs)
        self.addCleanup(server.stop)
        return server

    def report(self, bind=None, **kwargs):
        server = self.serve([ACCEPT] + REPORT, **kwargs)
        with connect(self.path(), bind) as client:
            return server, json.loads(client.recv(65536))

    # --- what each connection's program gets ------------------------------------

    def test_environment(self):
        env = dict(os.environ, **{name: "outer" for name in UNSET_BY_ACCEPT},
                   UNIXREMOTEPATH="/stale", PROTO="TCP", KEEP_ME="yes")
        _, seen = self.report(env=env)
        child = seen["env"]
        self.assertEqual(seen["type"], "SOCK_SEQPACKET")
        self.assertEqual(seen["fds"], [0, 1, 2, 3])  # 3: the socket fromfd made
        self.assertEqual((child["PROTO"], child["UNIXLOCALPATH"]), ("UNIX", self.path()))
        self.assertNotIn("UNIXREMOTEPATH", child, "the client did not bind")
        self.assertEqual((child["UNIXREMOTEPID"], child["UNIXREMOTEEUID"], child["UNIXREMOTEEGID"]),
                         (str(os.getpid()), str(os.geteuid()), str(os.getegid())))
        self.assertEqual(sorted(int(g) for g in child["UNIXREMOTEGIDLIST"].split(",") if g),
                         sorted(os.getgroups()))
        for name in UNSET_BY_ACCEPT:
            self.assertNotIn(name, child)
        self.assertEqual(child["KEEP_ME"], "yes")

    def test_remote_path_when_the_client_bound(self):
        _, seen = self.report(bind=self.path("client"))
        self.assertEqual(seen["env"]["UNIXREMOTEPATH"], self.path("client"))

    def test_localname(self):
        server = self.serve([ACCEPT, "-l", "/run/named", "printenv", "UNIXLOCALPATH"])
        with connect(self.path()) as client:
            self.assertEqual(client.recv(100), b"/run/named\n")
        self.assertEqual(server.log(), "")

    def test_messages_keep_their_boundaries(self):
        self.serve([ACCEPT] + ECHO)
        with connect(self.path()) as client:
            sent = [b"a", b"b" * 4000, b"ccc"]
            for message in sent:
                client.send(message)
            self.assertEqual([client.recv(65536) for _ in sent], [b"echo:" + m for m in sent])

    def test_a_whole_chain_with_the_listen_applet(self):
        path = self.path()
        server = subprocess.Popen([LISTEN, path, APPLET] + ECHO, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)

        def stop():
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate(timeout=WAIT_LIMIT)
        self.addCleanup(stop)
        wait_for(lambda: listening(path), "the socket to listen")
        for _ in range(2):
            with connect(path) as client:
                client.send(b"first")
                client.send(b"second")
                self.assertEqual((client.recv(100), client.recv(100)), (b"echo:first", b"echo:second"))

    def test_two_listeners_from_listen_fds(self):
        listeners = [listener(self.path("one")), listener(self.path("two"))]
        self.serve([ACCEPT, "printenv", "UNIXLOCALPATH"], listeners, listen_fds=True)
        for name in ("one", "two", "one"):
            with connect(self.path(name)) as client:
                self.assertEqual(client.recv(200), (self.path(name) + "\n").encode())

    # --- limits and the log ------------------------------------------------------

    def test_verbose_lines(self):
        server = self.serve([ACCEPT, "-v", "-c", "3", "sh", "-c", "exit 7"])
        with connect(self.path(), bind=self.path("client")) as client:
            self.assertEqual(client.recv(100), b"")
        ended = wait_for(lambda: server.lines(ENDED), "the ended line")
        started, connection = server.lines(STARTED), server.lines(CONNECTION)
        self.assertEqual(started[0].group(2, 3), ("1", "3"))
        pid = started[0].group(1)
        self.assertEqual(connection[0].groups(), (pid, self.path(), self.path("client"), str(os.getpid()),
                                                  str(os.geteuid()), str(os.getegid())))
        self.assertEqual(ended[0].groups(), (pid, "1", "7", "0", "3"))
        self.assertEqual(len(server.log().splitlines()), 3)

    def test_per_uid_limit_closes_at_once(self):
        server = self.serve([ACCEPT, "-C", "1", "cat"])
        first = connect(self.path())
        self.addCleanup(first.close)
        first.send(b"one")
        self.assertEqual(first.recv(100), b"one")
        with connect(self.path()) as second:
            self.assertEqual(second.recv(100), b"", "over the limit: closed without being served")
        wait_for(lambda: "ERROR" in server.log(), "the ERROR line")
        self.assertEqual(server.log(), f"{APPLET}: ERROR: uid {os.geteuid()}: at the limit of 1 "
                                       "connections per uid; connection closed\n")

    def test_quiet_per_uid_refusal(self):
        server = self.serve([ACCEPT, "-q", "-C", "1", "cat"])
        first = connect(self.path())
        self.addCleanup(first.close)
        first.send(b"one")
        self.assertEqual(first.recv(100), b"one")
        with connect(self.path()) as second:
            self.assertEqual(second.recv(100), b"")
        self.assertEqual(server.log(), "")

    def test_process_name(self):
        server = self.serve([ACCEPT, "cat"])

        def name():
            with open(f"/proc/{server.process.pid}/comm") as f:
                return f.read() == "lseqpkt-accept\n"
        wait_for(name, "the server's process name")

    # --- listeners of the wrong kind ---------------------------------------------

    def start_on(self, sock, applet=ACCEPT):
        fds, setup = on_fds([sock])
        try:
            return subprocess.run([applet, "true"], pass_fds=fds, preexec_fn=setup,
                                  capture_output=True, text=True, timeout=WAIT_LIMIT)
        finally:
            sock.close()

    def test_a_stream_listener_is_refused(self):
        result = self.start_on(listener(self.path(), socket.SOCK_STREAM))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3: not a SOCK_SEQPACKET socket but a "
                                                  "stream (SOCK_STREAM) socket")

    def test_a_seqpacket_listener_is_refused_by_the_stream_accept(self):
        result = self.start_on(listener(self.path()), applet_link("local-stream-socket-accept"))
        self.assertFatal(result, "local-stream-socket-accept", FAILURE,
                         "descriptor 3: not a stream socket but a SOCK_SEQPACKET socket")

    def test_a_datagram_socket_is_refused(self):
        result = self.start_on(listener(self.path(), socket.SOCK_DGRAM))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3", "datagram (SOCK_DGRAM) socket")

    def test_a_seqpacket_socket_not_listening_is_refused(self):
        result = self.start_on(listener(self.path(), listen=False))
        self.assertFatal(result, APPLET, FAILURE, "descriptor 3: a SOCK_SEQPACKET socket that is not listening")

    def test_an_inet_socket_is_refused(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        self.assertFatal(self.start_on(sock), APPLET, FAILURE, "descriptor 3", "AF_UNIX", "AF_INET")

    def test_no_descriptor_3(self):
        self.case(APPLET, ["true"], status=FAILURE, fatal=("descriptor 3", "not open"))

    # --- exit statuses -----------------------------------------------------------

    def test_help(self):
        result = self.case(APPLET, ["--help"])[0]
        self.assertTrue(result.stdout.startswith(f"Usage: {APPLET} [OPTIONS] NEXT-PROG"))
        self.assertIn("Process name while it runs: lseqpkt-accept", result.stdout)

    def test_usage_errors(self):
        for args, culprit in (([], "NEXT-PROG"), (["-c", "0", "true"], "--connection-limit"),
                              (["-C", "x", "true"], "--connection-limit-per-uid"),
                              (["--bogus", "true"], "--bogus")):
            with self.subTest(args=args):
                self.case(APPLET, args, status=USAGE, fatal=culprit)

    def test_next_program_not_found_or_not_runnable(self):
        self.case(APPLET, ["/nonexistent/handler"], status=NOT_FOUND, fatal="/nonexistent/handler")
        self.case(APPLET, [self.dir], status=CANNOT_RUN, fatal=self.dir)


if __name__ == "__main__":
    main()
