#!/usr/bin/env python3
"""Accept throughput, side by side: each accept applet of toolkit (each toolkit
binary given) against the servers that do the same job, in one run, on this
machine only (AF_UNIX sockets in a temporary directory, or TCP on 127.0.0.1).
Run by hand; not part of the test suite.

    tests/bench/accept.py [--family tcp|seqpacket|stream] [--loadgen LOADGEN.c]
                          [--quick] [--rounds R] [-n N] TOOLKIT...

Families and their servers (a server that is not installed is skipped, with a
line on stderr):

  tcp        tcp-socket-listen + tcp-socket-accept; tcpserver -HR (ucspi-tcp),
             socat TCP4-LISTEN fork, systemd-socket-activate --accept
  seqpacket  local-seqpacket-socket-listen + local-seqpacket-socket-accept;
             socat UNIX-LISTEN type=5 fork, systemd-socket-activate --seqpacket --accept
  stream     local-stream-socket-listen + local-stream-socket-accept; unixserver
             (ucspi-unix), s6-ipcserver, socat UNIX-LISTEN fork,
             systemd-socket-activate --accept

LOADGEN.c (default: loadgen.c beside this script) is the load generator's
source (`loadgen run ADDRESS N C`, `loadgen probe ADDRESS WAIT_S`, `loadgen
echo`); it is compiled into a temporary directory, statically when the C
library allows, and its `echo` mode is the handler every server runs for each
connection: a static program that starts fast, so that the servers' own cost
per connection weighs most.

For each server and each client count (1 and 16), a fresh server is started,
probed, measured idle (VmRSS), then given N connections; reported are
connections per second, p50/p99 latency of a whole exchange (connect, send a
line, read the echo to EOF), the server's CPU per connection (its own time and
that of its reaped children, from /proc/PID/stat) and the idle RSS. With R
rounds, the median of each; the order of the servers is rotated from round to
round. Figures are for ratios within one run: the machine is noisy."""

import argparse
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instructions import build_of  # noqa: E402  (default or static build, from the ELF's program headers)

CLIENTS = [1, 16]
BACKLOG = 128
LIMIT = 256
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "SYSTEMD_LOG_LEVEL": "warning"}
TICKS = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))

FAMILIES = {
    # family: (what it is, the loadgen address of {port} or {path}, our listen and accept applets)
    "tcp": ("TCP on 127.0.0.1", "tcp:127.0.0.1:{port}", "tcp-socket-listen", "tcp-socket-accept"),
    "seqpacket": ("AF_UNIX SOCK_SEQPACKET", "seq:{path}",
                  "local-seqpacket-socket-listen", "local-seqpacket-socket-accept"),
    "stream": ("AF_UNIX SOCK_STREAM", "unix:{path}", "local-stream-socket-listen", "local-stream-socket-accept"),
}

# The peers of each family: (name, program, its words), {port}/{path}/{handler} filled in per measurement.
PEERS = {
    "tcp": [
        ("tcpserver -HR", "tcpserver", ["-HR", "-l", "localhost", "-c", str(LIMIT), "-b", str(BACKLOG),
                                        "127.0.0.1", "{port}", "{handler}"]),
        ("socat fork", "socat", [f"TCP4-LISTEN:{{port}},bind=127.0.0.1,reuseaddr,fork,backlog={BACKLOG}",
                                 "EXEC:{handler},nofork"]),
        ("systemd-socket-activate", "systemd-socket-activate", ["-l", "127.0.0.1:{port}", "--accept", "--inetd",
                                                                "{handler}"]),
    ],
    "seqpacket": [
        # type=5 is SOCK_SEQPACKET: socat's listener is then one (the Type column of /proc/net/unix reads 0005).
        ("socat fork", "socat", [f"UNIX-LISTEN:{{path}},type=5,fork,backlog={BACKLOG}", "EXEC:{handler},nofork"]),
        ("systemd-socket-activate", "systemd-socket-activate", ["--seqpacket", "-l", "{path}", "--accept", "--inetd",
                                                                "{handler}"]),
    ],
    "stream": [
        ("unixserver", "unixserver", ["-c", str(LIMIT), "-b", str(BACKLOG), "{path}", "{handler}"]),
        ("s6-ipcserver", "s6-ipcserver", ["-c", str(LIMIT), "-C", str(LIMIT), "-b", str(BACKLOG), "{path}",
                                          "{handler}"]),
        ("socat fork", "socat", [f"UNIX-LISTEN:{{path}},fork,backlog={BACKLOG}", "EXEC:{handler},nofork"]),
        ("systemd-socket-activate", "systemd-socket-activate", ["-l", "{path}", "--accept", "--inetd", "{handler}"]),
    ],
}


def free_port():
    # A port the kernel picked, handed to a server that cannot take port 0 and tell.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_loadgen(source, directory):
    binary = os.path.join(directory, "loadgen")
    for static in (["-static"], []):
        result = subprocess.run(["cc", "-O2", "-pthread", *static, "-o", binary, source],
                                capture_output=True, text=True)
        if result.returncode == 0:
            return binary
    sys.exit(f"cannot compile {source}: {result.stderr}")


def implementations(family, toolkits, directory):
    """(name, argv with {port}/{path} and {handler}, ours?) of every server that is installed."""
    found = []
    for name, program, words in PEERS[family]:
        path = shutil.which(program)
        if path:
            found.append((name, [path, *words], False))
        else:
            print(f"skipped: {name} ({program} is not installed)", file=sys.stderr)
    _, _, listen_applet, accept_applet = FAMILIES[family]
    where = "{port}" if family == "tcp" else "{path}"
    host = ["127.0.0.1"] if family == "tcp" else []
    names = [f"toolkit, {build_of(toolkit)} build" for toolkit in toolkits]
    for i, toolkit in enumerate(toolkits):
        name = names[i] if names.count(names[i]) == 1 else f"{names[i]} ({toolkit})"
        links = os.path.join(directory, f"toolkit{i}")
        os.mkdir(links)
        listen = os.path.join(links, listen_applet)
        os.symlink(os.path.abspath(toolkit), listen)
        # The accept applet is a bare word: it runs in the listener's process, no execve.
        found.append((name, [listen, "-b", str(BACKLOG), *host, where,
                             accept_applet, "-c", str(LIMIT), "{handler}"], True))
    return found


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS  # utime stime cutime cstime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=2)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


SOCKETS = itertools.count()


def measure(family, argv, loadgen, directory, connections, clients):
    """One fresh server, one load: a dict of figures, or None when the server did not answer."""
    places = {"{port}": str(free_port())} if family == "tcp" else \
        {"{path}": os.path.join(directory, f"socket{next(SOCKETS)}")}
    places["{handler}"] = loadgen + " echo"  # socat's EXEC: takes the command line in one word
    command = []
    for word in argv:
        if word == "{handler}":  # its own words: the program and its mode
            command += [loadgen, "echo"]
        else:
            for key, value in places.items():
                word = word.replace(key, value)
            command.append(word)
    address = FAMILIES[family][1].format(port=places.get("{port}"), path=places.get("{path}"))
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=log, start_new_session=True)
        try:
            if subprocess.run([loadgen, "probe", address, "5"], timeout=30).returncode != 0:
                log.seek(0)
                print(f"  no answer from {command[0]}: {log.read().strip()}", file=sys.stderr)
                return None
            time.sleep(0.2)  # the probe's child reaped
            rss = rss_kib(process.pid)
            before = cpu_seconds(process.pid)
            try:
                result = subprocess.run([loadgen, "run", address, str(connections), str(clients)],
                                        capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                print(f"  {command[0]}: the load generator did not end in 120 s", file=sys.stderr)
                return None
            time.sleep(0.2)
            after = cpu_seconds(process.pid)
        finally:
            stop(process)
    figures = dict(pair.split("=", 1) for pair in result.stdout.split() if "=" in pair)
    if not {"cps", "p50_us", "p99_us", "err"} <= figures.keys():
        print(f"  {command[0]}: no figures from the load generator: {result.stderr.strip()}", file=sys.stderr)
        return None
    if int(figures["err"]) != 0:
        print(f"  {command[0]}: {result.stdout.strip()} {result.stderr.strip()}", file=sys.stderr)
    return {"cps": float(figures["cps"]), "p50": float(figures["p50_us"]), "p99": float(figures["p99_us"]),
            "cpu": (after - before) / connections * 1e6, "rss": rss, "errors": int(figures["err"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="tcp",
                        help="which accept applet and its peers (default tcp)")
    parser.add_argument("--loadgen", default=os.path.join(HERE, "loadgen.c"),
                        help="the load generator's C source (default: loadgen.c beside this script)")
    parser.add_argument("--quick", action="store_true", help="500 connections, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument("-n", "--connections", type=int, help="connections per measurement (default 2000)")
    parser.add_argument("toolkits", nargs="+", metavar="TOOLKIT", help="toolkit binaries to measure")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    connections = args.connections or (500 if args.quick else 2000)
    family = args.family

    directory = tempfile.mkdtemp(prefix="toolkit-accept-bench-")
    try:
        loadgen = build_loadgen(args.loadgen, directory)
        servers = implementations(family, args.toolkits, directory)
        results = {(name, c): [] for name, _, _ in servers for c in CLIENTS}
        for r in range(rounds):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for name, argv, _ in order:
                for c in CLIENTS:
                    print(f"round {r + 1}/{rounds}: {name}, {c} client(s)", file=sys.stderr)
                    figures = measure(family, argv, loadgen, directory, connections, c)
                    if figures:
                        results[(name, c)].append(figures)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    def median(name, c, key):
        values = [f[key] for f in results[(name, c)]]
        return statistics.median(values) if values else None

    peers = [name for name, _, ours in servers if not ours]
    best = {c: max((median(p, c, "cps") or 0 for p in peers), default=0) for c in CLIENTS}
    print(f"{connections} connections x {rounds} round(s), family {family} ({FAMILIES[family][0]}), "
          f"static echo handler; ratio = conn/s / best peer's\n")
    print("| server | conn/s, 1 client | ratio | conn/s, 16 clients | ratio | p50/p99 µs, 1 | p50/p99 µs, 16 "
          "| CPU µs/conn | idle RSS KiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in servers:
        cells = [name]
        for c in CLIENTS:
            cps = median(name, c, "cps")
            errors = sum(f["errors"] for f in results[(name, c)])
            if cps is None:
                cells += ["FAIL", ""]
            else:
                cells += [f"{cps:.0f}" + (f" ({errors} err)" if errors else ""),
                          f"{cps / best[c]:.2f}" if best[c] else ""]
        for c in CLIENTS:
            p50, p99 = median(name, c, "p50"), median(name, c, "p99")
            cells.append("" if p50 is None else f"{p50:.0f} / {p99:.0f}")
        cpu = [v for v in (median(name, c, "cpu") for c in CLIENTS) if v is not None]
        rss = median(name, 1, "rss")
        cells += [f"{statistics.mean(cpu):.0f}" if cpu else "", "" if rss is None else f"{rss:.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
