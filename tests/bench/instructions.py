#!/usr/bin/env python3
"""Instruction counts (callgrind Ir) of toolkit's own work, so a regression shows
up as a number: per chain link, per applet start, and per accepted connection.

Usage: tests/bench/instructions.py [PATH/TO/toolkit]   (default: $TOOLKIT or build/toolkit)

Counts are deterministic for a given binary, input and environment. Each
figure counts the toolkit image only, from its first instruction up to the
execve of the program that ends the chain (callgrind --dump-before=execve).
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOOLKIT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TOOLKIT", "build/toolkit"))
TRUE = shutil.which("true") or "/bin/true"
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def callgrind(argv, workdir):
    """Ir of the first image of ARGV, counted up to its execve (or its exit)."""
    for old in glob.glob(os.path.join(workdir, "cg.*")):
        os.unlink(old)
    out = os.path.join(workdir, "cg.%p")
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=*execve*",
                    f"--callgrind-out-file={out}", *argv],
                   env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
    total = 0
    for dump in glob.glob(os.path.join(workdir, "cg.*")):
        with open(dump) as f:
            for line in f:
                m = re.match(r"(?:summary|totals): (\d+)", line)
                if m:
                    total = max(total, int(m.group(1)))
    return total


def totals(pattern):
    """{pid: Ir} of the callgrind dumps matching PATTERN."""
    found = {}
    for dump in glob.glob(pattern):
        pid = int(dump.rsplit(".", 1)[1].split("-")[0])
        with open(dump) as f:
            for line in f:
                m = re.match(r"(?:summary|totals): (\d+)", line)
                if m:
                    found[pid] = found.get(pid, 0) + int(m.group(1))
    return found


def serve(links, workdir, connections):
    """Ir of the accept server process, and of its children up to their execve,
    after CONNECTIONS connections handled by `true`."""
    tag = f"acc{connections}"
    path = os.path.join(workdir, tag + "-socket")
    server = subprocess.Popen(
        # A child starts with a copy of its parent's counters: zero them where it begins.
        # Under Valgrind every child is a fork (see source/spawn.cpp); its
        # execve is a system call made without libc, in child::execute.
        ["valgrind", "--tool=callgrind", "--dump-before=*execve*", "--dump-before=*child*execute*",
         "--zero-before=*exec_child*",
         f"--callgrind-out-file={os.path.join(workdir, tag)}.%p",
         os.path.join(links, "local-stream-socket-listen"), "--backlog", "64", path,
         "local-stream-socket-accept", TRUE],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(path):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the accept server did not start")
            time.sleep(0.05)
        for _ in range(connections):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(30)
                client.connect(path)
                while client.recv(4096):
                    pass
        time.sleep(1)  # the last children end and are reaped
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    found = totals(os.path.join(workdir, tag) + ".*")
    own = found.pop(server.pid, 0)
    return own, sum(found.values())


def main():
    if not shutil.which("valgrind"):
        print("valgrind is not installed; nothing measured", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as workdir:
        os.chmod(workdir, 0o1777)  # setuidgid's dump is written after it dropped root
        links = os.path.join(workdir, "links")
        os.mkdir(links)
        for applet in ("fdmove", "setuidgid", "local-stream-socket-listen"):
            os.symlink(TOOLKIT, os.path.join(links, applet))
        fdmove = os.path.join(links, "fdmove")
        one = callgrind([fdmove, "1", "1", TRUE], workdir)
        ten = callgrind([fdmove, "1", "1"] + ["fdmove", "1", "1"] * 9 + [TRUE], workdir)
        rows = [
            ("fdmove 1 1 true (whole start-up)", one),
            ("chain of 10 in-process fdmove links", ten),
            ("per extra in-process link", (ten - one) // 9),
        ]
        if os.geteuid() == 0:
            rows.append(("setuidgid nobody true (whole start-up)",
                         callgrind([os.path.join(links, "setuidgid"), "nobody", TRUE], workdir)))
        connections = 200
        idle_server, _ = serve(links, workdir, 0)
        busy_server, children = serve(links, workdir, connections)
        rows.append(("accept: server, per connection (fork)", (busy_server - idle_server) // connections))
        rows.append(("accept: child up to its execve, per connection (fork)", children // connections))
        print(f"toolkit: {TOOLKIT}")
        print(f"{'measure':<44} {'instructions':>14}")
        for name, value in rows:
            print(f"{name:<44} {value:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
