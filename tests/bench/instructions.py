#!/usr/bin/env python3
"""Instruction counts (callgrind Ir) of toolkit's own work, so a regression shows
up as a number: per chain link, per applet start, and per accepted connection.

Usage: tests/bench/instructions.py [--check] [PATH/TO/toolkit]   (default: $TOOLKIT or build/toolkit)

Counts are deterministic for a given binary, input and environment. Each
figure counts the toolkit image only, from its first instruction up to the
execve of the program that ends the chain (callgrind --dump-before=execve).

With --check each figure is held to its budget, about 10% above what the
binary cost when the budget was set, from the table of its build: the default
build (dynamically linked: it has a program interpreter) or the static one.
Any figure over its budget fails the check (exit 1), naming the figure and
the budget. Wall time never gates anything; instruction counts are exact.
TOOLKIT_INSTRUCTION_BUDGET_SCALE multiplies every budget (0.5 shows a failure).
Exit 77 when valgrind is missing.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rules as rules_bench  # noqa: E402  (the rules check counted alone, as tests/bench/rules.py does)

ARGS = [a for a in sys.argv[1:] if a != "--check"]
CHECK = "--check" in sys.argv[1:]
TOOLKIT = os.path.abspath(ARGS[0] if ARGS else os.environ.get("TOOLKIT", "build/toolkit"))
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


# Budgets, ~10% above the figures of the binary when they were set (see README,
# "Performance"); a row absent from its table is measured and shown, not checked.
BUDGETS = {
    # Set on 2026-12-03 from: 152,440  162,421  1,109  196,758  214,102  3,378  128  6,533  128
    "default": {
        "fdmove 1 1 true (whole start-up)": 168_000,
        "chain of 10 in-process fdmove links": 179_000,
        "per extra in-process link": 1_220,
        "setuidgid nobody true (whole start-up)": 216_000,
        "softlimit -m 64000000 true (whole start-up, options)": 235_500,
        "local accept: server, per connection (fork)": 3_720,
        "local accept: child up to its execve, per connection (fork)": 141,
        "tcp accept: server, per connection (fork)": 7_190,
        "tcp accept: child up to its execve, per connection (fork)": 141,
        # Set on 2026-12-04 from: 299,858  3,096  43,160  20,459
        "entry point: envdir softlimit setlock chdir umask setuidgid true": 330_000,
        "1,000 rules: server, per connection (fork)": 3_420,
        "1,000 rules: child up to its execve, per connection (fork)": 47_500,
        "rules check alone, 1,000 rules, file edited since start": 22_500,
    },
    # Set on 2026-12-03 from: 32,360  44,417  1,339  66,643  91,199  5,786  124  8,276  124
    "static": {
        "fdmove 1 1 true (whole start-up)": 35_600,
        "chain of 10 in-process fdmove links": 48_900,
        "per extra in-process link": 1_470,
        # Set on 2026-12-05 from 42,648, once the first entry of a name decides (accounts.cpp).
        "setuidgid nobody true (whole start-up)": 46_900,
        "softlimit -m 64000000 true (whole start-up, options)": 100_300,
        "local accept: server, per connection (fork)": 6_370,
        "local accept: child up to its execve, per connection (fork)": 137,
        "tcp accept: server, per connection (fork)": 9_100,
        "tcp accept: child up to its execve, per connection (fork)": 137,
        # Set on 2026-12-04 from: 167,088  5,451  51,101  20,808
        # Set on 2026-12-05 from 140,584 (the same change).
        "entry point: envdir softlimit setlock chdir umask setuidgid true": 154_600,
        "1,000 rules: server, per connection (fork)": 6_000,
        "1,000 rules: child up to its execve, per connection (fork)": 56_200,
        "rules check alone, 1,000 rules, file edited since start": 22_900,
    },
}


def build_of(binary):
    """"static" or "default": a dynamically linked binary has a PT_INTERP program header."""
    with open(binary, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            raise RuntimeError(f"{binary} is not a 64-bit ELF file")
        order = "little" if header[5] == 1 else "big"
        phoff = int.from_bytes(header[32:40], order)
        phentsize = int.from_bytes(header[54:56], order)
        phnum = int.from_bytes(header[56:58], order)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    kinds = [int.from_bytes(table[i * phentsize:i * phentsize + 4], order) for i in range(phnum)]
    return "default" if 3 in kinds else "static"  # 3: PT_INTERP


def free_port():
    """A port the kernel picked on 127.0.0.1, free for the server to take."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(links, workdir, tag, connections, chain, connect):
    """Ir of the server process, and of all its children up to their execve, after
    CONNECTIONS connections handled by CHAIN (argv, from the listen applet on).
    CONNECT() opens a connected client socket, or raises while the server is not up."""
    server = subprocess.Popen(
        # A child starts with a copy of its parent's counters: zero them where it begins.
        # Under Valgrind every child is a fork (see source/spawn.cpp); its
        # execve is a system call made without libc, in child::execute.
        # A child that runs further links in-process is a plain fork: zeroed where those links start.
        ["valgrind", "--tool=callgrind", "--dump-before=*execve*", "--dump-before=*child*execute*",
         "--zero-before=*exec_child*", "--zero-before=*run_rest_in_child*",
         f"--callgrind-out-file={os.path.join(workdir, tag)}.%p",
         os.path.join(links, chain[0]), *chain[1:]],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # The first connection also tells that the server is up; every run makes it,
        # so it cancels out of the difference between two runs.
        for n in range(connections + 1):
            while True:
                try:
                    client = connect()
                    break
                except OSError:
                    if n or time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"the server did not start: {' '.join(chain)}")
                    time.sleep(0.05)
            with client:
                client.settimeout(30)
                while client.recv(4096):
                    pass
        time.sleep(1)  # the last children end and are reaped
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    found = totals(os.path.join(workdir, tag) + ".*")
    own = found.pop(server.pid, 0)
    return own, sum(found.values())


def per_connection(links, workdir, name, chain, connect, connections=200):
    """Rows for the server's and the child's instructions per connection: the
    difference between CONNECTIONS connections and none."""
    idle_server, idle_children = serve(links, workdir, name.replace(" ", "-") + "-idle", 0, chain, connect)
    busy_server, busy_children = serve(links, workdir, name.replace(" ", "-") + "-busy", connections, chain,
                                       connect)
    return [(f"{name}: server, per connection (fork)", (busy_server - idle_server) // connections),
            (f"{name}: child up to its execve, per connection (fork)",
             (busy_children - idle_children) // connections)]


def unix_client(path):
    def connect():
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(path)
        except OSError:
            client.close()
            raise
        return client
    return connect


def tcp_client(port):
    def connect():
        return socket.create_connection(("127.0.0.1", port), timeout=30)
    return connect


def main():
    if not shutil.which("valgrind"):
        print("valgrind is not installed; nothing measured", file=sys.stderr)
        return 77
    applets = set(subprocess.run([TOOLKIT, "--list"], capture_output=True, text=True, check=True).stdout.split())
    build = build_of(TOOLKIT)
    notes = []
    with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as workdir:
        os.chmod(workdir, 0o1777)  # setuidgid's dump is written after it dropped root
        links = os.path.join(workdir, "links")
        os.mkdir(links)
        for applet in ("fdmove", "setuidgid", "softlimit", "local-stream-socket-listen", "tcp-socket-listen"):
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
        else:
            notes.append("setuidgid nobody true: not measured (needs root)")
        # An applet given an option: what Boost.ProgramOptions costs at a start.
        if "softlimit" in applets:
            rows.append(("softlimit -m 64000000 true (whole start-up, options)",
                         callgrind([os.path.join(links, "softlimit"), "-m", "64000000", TRUE], workdir)))
        # SPEC's container entry point, every link in one process.
        if {"envdir", "setlock", "chdir", "umask"} <= applets and os.geteuid() == 0:
            env_dir = os.path.join(workdir, "env")
            os.mkdir(env_dir)
            for name, value in (("GREETING", "hello"), ("LANG", "C"), ("SERVICE", "app")):
                with open(os.path.join(env_dir, name), "w") as f:
                    f.write(value + "\n")
            os.symlink(TOOLKIT, os.path.join(links, "envdir"))
            rows.append(("entry point: envdir softlimit setlock chdir umask setuidgid true",
                         callgrind([os.path.join(links, "envdir"), env_dir, "softlimit", "-m", "64000000",
                                    "setlock", "-n", os.path.join(workdir, "lock"), "chdir", workdir,
                                    "umask", "027", "setuidgid", "nobody", TRUE], workdir)))
        else:
            notes.append("entry point: not measured (needs root and envdir, setlock, chdir, umask)")
        path = os.path.join(workdir, "local-socket")
        rows += per_connection(links, workdir, "local accept",
                               ["local-stream-socket-listen", "--backlog", "64", path,
                                "local-stream-socket-accept", TRUE], unix_client(path))
        if {"tcp-socket-listen", "tcp-socket-accept"} <= applets:
            port = free_port()
            rows += per_connection(links, workdir, "tcp accept",
                                   ["tcp-socket-listen", "-b", "64", "127.0.0.1", str(port),
                                    "tcp-socket-accept", TRUE], tcp_client(port))
        else:
            notes.append("tcp accept: not measured (tcp-socket-listen or tcp-socket-accept is not in toolkit --list)")
        if "ucspi-socket-rules-check" in applets:
            # 1,000 rules, the client's the last: what the check adds to the server's loop (a
            # look at the file's status before each child) and to each child, and the check
            # alone after the file was edited under a running server (the server parses it once).
            path = os.path.join(workdir, "rules-socket")
            rules_file = os.path.join(workdir, "rules")
            with open(rules_file, "w") as f:
                f.write(rules_bench.rules("uid", 1000))
            os.chmod(rules_file, 0o644)
            rows += per_connection(links, workdir, "1,000 rules",
                                   ["local-stream-socket-listen", "--backlog", "64", path,
                                    "local-stream-socket-accept", "ucspi-socket-rules-check", "--rules",
                                    rules_file, TRUE], unix_client(path))
            for applet in ("local-stream-socket-accept", "ucspi-socket-rules-check"):
                os.symlink(TOOLKIT, os.path.join(links, applet))
            rows.append(("rules check alone, 1,000 rules, file edited since start",
                         rules_bench.per_connection(links, workdir, rules_bench.rules("uid", 1000), True)))
        else:
            notes.append("rules check: not measured (ucspi-socket-rules-check is not in toolkit --list)")

    scale = float(os.environ.get("TOOLKIT_INSTRUCTION_BUDGET_SCALE", "1"))
    budgets = BUDGETS[build]
    print(f"toolkit: {TOOLKIT} ({build} build)")
    header = f"{'measure':<68} {'instructions':>13}"
    print(header + (f" {'budget':>13}" if CHECK else ""))
    over = []
    for name, value in rows:
        line = f"{name:<68} {value:>13,}"
        if CHECK:
            budget = int(budgets[name] * scale) if name in budgets else None
            if budget is None:
                line += f" {'(no budget)':>13}"
            else:
                line += f" {budget:>13,}" + ("  OVER" if value > budget else "")
                if value > budget:
                    over.append(f"{name}: {value:,} instructions, over its budget of {budget:,} "
                                f"({build} build{f', budgets scaled by {scale:g}' if scale != 1 else ''})")
        print(line)
    for note in notes:
        print(note)
    for line in over:
        print(f"FAIL: {line}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
