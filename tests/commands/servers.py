"""What the end-to-end tests of the accept applets share: a server under test in
its own process group with its stderr (the -v log) in a file, the log lines every
accept applet writes, and the check that a connection limit held."""

import fcntl
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

from harness import wait_for

CLIENT_TIMEOUT = 10  # seconds any one socket operation may take
WAIT_LIMIT = 15      # seconds any bounded wait may take


def log_patterns(applet):
    """The -v lines of APPLET that are the same in every family: a child
    started (pid, live, limit) and a child ended (pid, how, code, live, limit)."""
    return (re.compile(rf"^{applet}: (\d+) started (\d+)/(\d+)$"),
            re.compile(rf"^{applet}: (\d+) ended status (\d) code (\d+) (\d+)/(\d+)$"))


class Server:
    """ARGV in its own process group, stderr in a file, with LISTENERS (sockets
    made by the test, closed here once the server has them) on descriptors
    3, 4, ... and nothing else above 2; stop() kills the group."""

    def __init__(self, argv, listeners=(), *, env=None, preexec=None, listen_fds=False, prefix="accept-test-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.log_path = os.path.join(self.dir, "stderr")
        fds = [sock.fileno() for sock in listeners]

        def setup():
            # Out of the way first, so that no listener lands on another before it moved.
            moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + len(fds)) for fd in fds]
            for i, fd in enumerate(moved):
                os.dup2(fd, 3 + i)
            os.closerange(3 + len(fds), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            if preexec:
                preexec()

        command = list(argv)
        if listen_fds:
            command = ["/bin/sh", "-c", f'LISTEN_PID=$$ LISTEN_FDS={len(fds)} exec "$@"', "sh"] + command
        with open(self.log_path, "w") as log:
            # Not pass_fds: it would close what setup() put on 3, 4, ...; setup() closes the rest.
            self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, close_fds=False,
                                            preexec_fn=setup, start_new_session=True)
        self.pid = self.process.pid
        for sock in listeners:
            sock.close()  # the server holds them now

    def log(self):
        with open(self.log_path) as log:
            return log.read()

    def lines(self, pattern):
        return [m for m in (pattern.match(line) for line in self.log().splitlines()) if m]

    def children(self):
        """PIDs of the server's children, zombies included."""
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.dir is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=WAIT_LIMIT)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def read_all(client):
    chunks = []
    while True:
        data = client.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def send_and_read(client, data=b""):
    """Send DATA on CLIENT, shut down writing, read to EOF, close."""
    with client:
        if data:
            client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        return read_all(client)


def check_limit_held(test, server, clients, limit, patterns):
    """CLIENTS, all connected at once to a `-v -c LIMIT cat` SERVER, are served
    in turn (the others wait in the backlog); the log's live count never
    passes LIMIT. PATTERNS: (STARTED, ENDED, CONNECTION) of the applet."""
    started, ended, connection = patterns
    try:
        for i, client in enumerate(clients):
            client.sendall(b"%d\n" % i)
        for i, client in enumerate(clients):
            test.assertEqual(client.recv(100), b"%d\n" % i)
            client.shutdown(socket.SHUT_WR)
            test.assertEqual(read_all(client), b"")
            client.close()
    finally:
        for client in clients:
            client.close()
    wait_for(lambda: len(server.lines(ended)) == len(clients), "every child to end")
    live = 0
    for line in server.log().splitlines():
        if m := started.match(line):
            live += 1
            test.assertEqual(int(m.group(2)), live)
            test.assertLessEqual(live, limit, line)
            test.assertEqual(m.group(3), str(limit))
        elif m := ended.match(line):
            live -= 1
            test.assertEqual(int(m.group(4)), live)
        else:
            test.assertRegex(line, connection)
    test.assertEqual(len(server.lines(started)), len(clients))


def check_burst(test, server, exchange_once, patterns, connections=1000, before=0):
    """CONNECTIONS exchanges (EXCHANGE_ONCE each) from 8 threads at once against
    a `-v ... /bin/true` SERVER that had served BEFORE: none fails, every child
    is started, ends with status 0 and is reaped. PATTERNS: (STARTED, ENDED)."""
    started, ended = patterns
    errors = []

    def worker(count):
        try:
            for _ in range(count):
                exchange_once()
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(connections // 8,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    test.assertEqual(errors, [])
    total = before + connections
    wait_for(lambda: len(server.lines(ended)) == total, f"{total} ended lines")
    test.assertEqual(len(server.lines(started)), total)
    wait_for(lambda: server.children() == [], "no child left")
    test.assertTrue(all(m.group(2, 3) == ("1", "0") for m in server.lines(ended)))
