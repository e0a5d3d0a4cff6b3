"""Soak test of local-stream-socket-accept: many connections from concurrent
clients, some killed in the middle of their exchange. Afterwards the server
holds exactly the descriptors it held before, has no zombie children, and said
nothing but its --verbose lines.

    [TOOLKIT=build/toolkit] python3 tests/soak/soak.py [--connections N] [--clients N] [--kill-every N]

Bounded: every socket operation has a timeout and the whole run a deadline."""

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commands"))
from harness import children, open_descriptors  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPLET = "local-stream-socket-accept"
OPERATION_TIMEOUT = 10  # seconds for one connect, send or receive
DEADLINE = 110          # seconds for the whole run

STARTED = re.compile(rf"^{APPLET}: (\d+) started (\d+)/(\d+)$")
CONNECTION = re.compile(rf"^{APPLET}: (\d+) \S+ \S+ \d+ \d+ \d+$")
ENDED = re.compile(rf"^{APPLET}: (\d+) ended status (\d) code (\d+) (\d+)/(\d+)$")



def exchange(path, payload):
    """A whole exchange with cat on the other end: send, half-close, read it back."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(OPERATION_TIMEOUT)
        client.connect(path)
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
        return received


def killed_exchange(path, payload):
    """A client process that sends half its payload and is killed while it waits for the answer."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_read)
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.settimeout(OPERATION_TIMEOUT)
            client.connect(path)
            client.sendall(payload[: len(payload) // 2])
            os.write(ready_write, b"x")
            select.select([], [], [], OPERATION_TIMEOUT)  # killed while waiting here, connection open
        finally:
            os._exit(3)
    os.close(ready_write)
    ready, _, _ = select.select([ready_read], [], [], OPERATION_TIMEOUT)
    os.close(ready_read)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return bool(ready) and os.WIFSIGNALED(status)


def client_worker(path, index, count, kill_every, result_fd):
    """One of the concurrent clients: COUNT connections in turn; reports counts as JSON."""
    counts = {"ok": 0, "killed": 0, "wrong": 0, "failed": 0, "errors": []}
    for i in range(count):
        payload = (b"%d.%d:" % (index, i)) * (1 + (i * 7 + index) % 50) + b"\n"
        try:
            if kill_every and i % kill_every == kill_every - 1:
                if killed_exchange(path, payload):
                    counts["killed"] += 1
                else:
                    counts["failed"] += 1
            elif exchange(path, payload) == payload:
                counts["ok"] += 1
            else:
                counts["wrong"] += 1
        except OSError as e:
            counts["failed"] += 1
            if len(counts["errors"]) < 5:
                counts["errors"].append(repr(e))
    os.write(result_fd, json.dumps(counts).encode())
    os.close(result_fd)


def wait_until(predicate, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def soak(connections, clients, kill_every, limit, fork):
    toolkit = os.path.abspath(os.environ.get("TOOLKIT", os.path.join(TOP, "build", "toolkit")))
    # cat echoes; a client killed mid-exchange may make it complain, in several
    # writes that would tear the server's lines apart, so its stderr goes nowhere.
    handler = [shutil.which("sh"), "-c", "exec cat 2>/dev/null"]
    if fork:  # an applet next: the server forks and the chain goes on in the child
        handler = ["fdmove", "2", "2"] + handler
    directory = tempfile.mkdtemp(prefix="toolkit-soak-")
    path = os.path.join(directory, "s")
    log = open(os.path.join(directory, "server.log"), "w+")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    server = subprocess.Popen([toolkit, "fdmove", "3", str(listener.fileno()), APPLET, "-v", "-c", str(limit)] + handler,
                              pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    listener.close()
    problems = []
    before, after, status, elapsed = {}, {}, {}, 0.0
    totals = {"ok": 0, "killed": 0, "wrong": 0, "failed": 0, "errors": []}
    try:
        # One exchange first, so that "before" is the server as it runs, not as it starts.
        if exchange(path, b"warm-up\n") != b"warm-up\n":
            problems.append("warm-up exchange failed")
        wait_until(lambda: not children(server.pid), OPERATION_TIMEOUT)
        before = open_descriptors(server.pid)

        started = time.monotonic()
        per_client = [connections // clients + (1 if i < connections % clients else 0) for i in range(clients)]
        workers = []
        for index, count in enumerate(per_client):
            result_read, result_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(result_read)
                try:
                    client_worker(path, index, count, kill_every, result_write)
                finally:
                    os._exit(0)
            os.close(result_write)
            workers.append((pid, result_read))
        for pid, result_read in workers:
            remaining = DEADLINE - (time.monotonic() - started)
            ready, _, _ = select.select([result_read], [], [], max(remaining, 0))
            data = os.read(result_read, 1 << 16) if ready else b""
            os.close(result_read)
            if not data:
                os.kill(pid, signal.SIGKILL)
                problems.append(f"client {pid} did not finish within the deadline")
            else:
                for key, value in json.loads(data).items():
                    totals[key] += value
            os.waitpid(pid, 0)
        elapsed = time.monotonic() - started

        # Every child reaped: no child left at all, in particular no zombie.
        if not wait_until(lambda: not children(server.pid), OPERATION_TIMEOUT):
            problems.append(f"children left: {children(server.pid)}")
        after = open_descriptors(server.pid)
        with open(f"/proc/{server.pid}/status") as f:
            status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        if server.poll() is not None:
            problems.append(f"the server ended with status {server.returncode}")
        if before != after:
            problems.append(f"descriptors before {before} and after {after} differ")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=OPERATION_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    # The server's account of it: one started and one ended line per connection.
    log.seek(0)
    lines = log.read().splitlines()
    log.close()
    shutil.rmtree(directory, ignore_errors=True)
    started_lines = [l for l in lines if STARTED.match(l)]
    ended = [ENDED.match(l) for l in lines if ENDED.match(l)]
    others = [l for l in lines if not (STARTED.match(l) or ENDED.match(l) or CONNECTION.match(l))]
    expected = connections + 1
    if len(started_lines) != expected or len(ended) != expected:
        problems.append(f"{len(started_lines)} started and {len(ended)} ended lines for {expected} connections")
    if ended and ended[-1].group(4) != "0":
        problems.append(f"last count is {ended[-1].group(4)}, not 0")
    unclean = [m for m in ended if (m.group(2), m.group(3)) != ("1", "0")]
    if len(unclean) > totals["killed"]:
        problems.append(f"{len(unclean)} children ended uncleanly, more than the {totals['killed']} killed clients")
    if others:
        problems.append(f"unexpected lines on stderr: {others[:5]}")
    if totals["wrong"] or totals["failed"]:
        problems.append(f"{totals['wrong']} wrong answers, {totals['failed']} failed exchanges: {totals['errors']}")

    figures = {
        "path": "fork" if fork else "spawn", "connections": connections, "clients": clients, "completed": totals["ok"], "killed": totals["killed"],
        "seconds": round(elapsed, 1), "per_second": round(connections / elapsed) if elapsed else None,
        "children_unclean": len(unclean), "other_stderr_lines": len(others),
        "server_fds_before": len(before), "server_fds_after": len(after),
        "server_peak_rss": status.get("VmHWM", "?").strip(),
    }
    return problems, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--kill-every", type=int, default=10, help="every Nth connection of a client is killed")
    parser.add_argument("--limit", type=int, default=64, help="the server's --connection-limit")
    parser.add_argument("--fork", action="store_true", help="chain through fdmove, so the server forks")
    args = parser.parse_args()
    problems, figures = soak(args.connections, args.clients, args.kill_every, args.limit, args.fork)
    print(json.dumps(figures))
    for problem in problems:
        print("soak: FAILED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
