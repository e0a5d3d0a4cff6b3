#!/usr/bin/env python3
"""TCP accept throughput, side by side: tcp-socket-listen + tcp-socket-accept
(each toolkit binary given) against tcpserver, socat and systemd-socket-activate,
in one run, on 127.0.0.1 only. Run by hand; not part of the test suite.

    tests/bench/tcp_accept.py --loadgen LOADGEN.c [--quick] [--rounds R] [-n N] TOOLKIT...

LOADGEN.c is the source of the load generator (`loadgen run tcp:HOST:PORT N C`,
`loadgen probe ADDRESS WAIT_S`, `loadgen echo`); it is compiled into a
temporary directory, statically when the C library allows, and its `echo`
mode is the handler every server runs for each connection: a static program
that starts fast, so that the servers' own cost per connection weighs most.

For each implementation and each client count (1 and 16), a fresh server is
started, probed, measured idle (VmRSS), then given N connections; reported are
connections per second, p50/p99 latency of a whole exchange (connect, send a
line, read the echo to EOF), the server's CPU per connection (its own time and
that of its reaped children, from /proc/PID/stat) and the idle RSS. With R
rounds, the median of each; the order of the implementations is rotated from
round to round. Figures are for ratios within one run: the machine is noisy."""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLIENTS = [1, 16]
BACKLOG = 128
LIMIT = 256
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "SYSTEMD_LOG_LEVEL": "warning"}
TICKS = os.sysconf("SC_CLK_TCK")


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


def implementations(toolkits, directory):
    """(name, argv with {port} and {handler}) of every server that is installed."""
    found = []
    if shutil.which("tcpserver"):
        found.append(("tcpserver -HR", [shutil.which("tcpserver"), "-HR", "-l", "localhost", "-c", str(LIMIT),
                                        "-b", str(BACKLOG), "127.0.0.1", "{port}", "{handler}"]))
    if shutil.which("socat"):
        found.append(("socat fork", [shutil.which("socat"),
                                     f"TCP4-LISTEN:{{port}},bind=127.0.0.1,reuseaddr,fork,backlog={BACKLOG}",
                                     "EXEC:{handler},nofork"]))
    if shutil.which("systemd-socket-activate"):
        found.append(("systemd-socket-activate", [shutil.which("systemd-socket-activate"), "-l",
                                                  "127.0.0.1:{port}", "--accept", "--inetd", "{handler}"]))
    for i, toolkit in enumerate(toolkits):
        links = os.path.join(directory, f"toolkit{i}")
        os.mkdir(links)
        listen = os.path.join(links, "tcp-socket-listen")
        os.symlink(os.path.abspath(toolkit), listen)
        # The accept applet is a bare word: it runs in the listener's process, no execve.
        found.append((f"ours: {toolkit}", [listen, "-b", str(BACKLOG), "127.0.0.1", "{port}",
                                           "tcp-socket-accept", "-c", str(LIMIT), "{handler}"]))
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


def measure(argv, loadgen, connections, clients):
    """One fresh server, one load: a dict of figures, or None when the server did not answer."""
    port = free_port()
    command = []
    for word in argv:
        if word == "{handler}":  # its own words: the program and its mode
            command += [loadgen, "echo"]
        else:  # socat's EXEC: takes the command line in one word
            command.append(word.replace("{port}", str(port)).replace("{handler}", loadgen + " echo"))
    address = f"tcp:127.0.0.1:{port}"
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
            result = subprocess.run([loadgen, "run", address, str(connections), str(clients)],
                                    capture_output=True, text=True, timeout=120)
            time.sleep(0.2)
            after = cpu_seconds(process.pid)
        finally:
            stop(process)
    figures = dict(pair.split("=", 1) for pair in result.stdout.split())
    if int(figures.get("err", "1")) != 0:
        print(f"  {command[0]}: {result.stdout.strip()}", file=sys.stderr)
    return {"cps": float(figures["cps"]), "p50": float(figures["p50_us"]), "p99": float(figures["p99_us"]),
            "cpu": (after - before) / connections * 1e6, "rss": rss, "errors": int(figures["err"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loadgen", required=True, help="the load generator's C source")
    parser.add_argument("--quick", action="store_true", help="500 connections, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument("-n", "--connections", type=int, help="connections per measurement (default 2000)")
    parser.add_argument("toolkits", nargs="+", metavar="TOOLKIT", help="toolkit binaries to measure")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    connections = args.connections or (500 if args.quick else 2000)

    directory = tempfile.mkdtemp(prefix="toolkit-tcp-bench-")
    try:
        loadgen = build_loadgen(args.loadgen, directory)
        servers = implementations(args.toolkits, directory)
        results = {(name, c): [] for name, _ in servers for c in CLIENTS}
        for r in range(rounds):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for name, argv in order:
                for c in CLIENTS:
                    print(f"round {r + 1}/{rounds}: {name}, {c} client(s)", file=sys.stderr)
                    figures = measure(argv, loadgen, connections, c)
                    if figures:
                        results[(name, c)].append(figures)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    def median(name, c, key):
        values = [f[key] for f in results[(name, c)]]
        return statistics.median(values) if values else None

    peers = [name for name, _ in servers if not name.startswith("ours")]
    best = {c: max((median(p, c, "cps") or 0 for p in peers), default=0) for c in CLIENTS}
    print(f"{connections} connections x {rounds} round(s), static echo handler, 127.0.0.1; "
          f"ratio = conn/s / best peer's\n")
    print("| server | conn/s, 1 client | ratio | conn/s, 16 clients | ratio | p50/p99 µs, 1 | p50/p99 µs, 16 "
          "| CPU µs/conn | idle RSS KiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _ in servers:
        cells = [name]
        for c in CLIENTS:
            cps = median(name, c, "cps")
            cells += ["FAIL", ""] if cps is None else [f"{cps:.0f}", f"{cps / best[c]:.2f}" if best[c] else ""]
        for c in CLIENTS:
            p50, p99 = median(name, c, "p50"), median(name, c, "p99")
            cells.append("" if p50 is None else f"{p50:.0f} / {p99:.0f}")
        cpu = [v for v in (median(name, c, "cpu") for c in CLIENTS) if v is not None]
        rss = median(name, 1, "rss")
        cells += [f"{statistics.mean(cpu):.0f}" if cpu else "", "" if rss is None else f"{rss:.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
