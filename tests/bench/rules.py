#!/usr/bin/env python3
"""What ucspi-socket-rules-check costs a connection, in instructions (callgrind
Ir), next to what a fork+exec of /bin/true costs, for rules files of 10 and
1,000 rules whose matching rule is the last.

Usage: tests/bench/rules.py [PATH/TO/toolkit]   (default: $TOOLKIT or build/toolkit)

Each connection goes through a real server (listen, accept, rules-check,
`true`) under callgrind; only the rules check itself is counted
(--toggle-collect on its run()), in each child, and averaged. The server is
a local one, so these clients are UNIX ones; a TCP client's check is counted
with the applet run by itself. Two cases:
the file as it was when the server started (the children reuse what was
parsed then), and the file edited since (the server parses it again once,
before the next child, and the children reuse that).
"""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TRUE = shutil.which("true") or "/bin/true"
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
CONNECTIONS = 10
RUN = "*CheckRules*run*"


def listening(path):
    """True once a socket bound to PATH listens: the node exists from bind(), a
    moment before listen(), and a client connecting in between is refused."""
    with open("/proc/net/unix") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                return True
    return False


def total_ir(dump):
    with open(dump) as f:
        for line in f:
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m:
                return int(m.group(1))
    return 0


def true_alone(workdir):
    """Ir of /bin/true from its execve to its exit: what exec'ing a small program costs in user space."""
    out = os.path.join(workdir, "true.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", TRUE], env=ENV,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
    return total_ir(out)


def rules(kind, count):
    """COUNT rules of KIND for a client of our own uid; only the last one matches it."""
    uid = os.geteuid()
    if kind == "uid":
        fillers = [f"uid:{100000 + i} allow" for i in range(count)]
        last = f"uid:{uid} allow"
    elif kind == "ip":
        fillers = [f"ip:10.{i // 256 % 256}.{i % 256}.0/24 allow" for i in range(count)]
        last = f"uid:{uid} allow"
    else:
        names = [p.pw_name for p in pwd.getpwall() if p.pw_uid != uid]
        fillers = [f"user:{names[i % len(names)]} allow" for i in range(count)]
        last = f"user:{pwd.getpwuid(uid).pw_name} allow"
    return "\n".join(fillers[:count - 1] + [last]) + "\n"


def per_connection(links, workdir, text, edited):
    """Mean Ir of the rules check in a server's children."""
    tag = f"rc{os.getpid()}-{time.monotonic_ns()}"
    path = os.path.join(workdir, tag + ".sock")
    rules_path = os.path.join(workdir, tag + ".rules")
    with open(rules_path, "w") as f:
        f.write(text)
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--toggle-collect={RUN}", "--dump-before=*execve*",
         f"--callgrind-out-file={os.path.join(workdir, 'cg-' + tag)}.%p",
         os.path.join(links, "local-stream-socket-listen"), "--backlog", "64", path,
         "local-stream-socket-accept", "ucspi-socket-rules-check", "--rules", rules_path, TRUE],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not listening(path):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        if edited:  # same rules, other bytes: the children must parse the file again
            with open(rules_path, "a") as f:
                f.write("# edited\n")
        for _ in range(CONNECTIONS):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(60)
                client.connect(path)
                while client.recv(4096):
                    pass
        time.sleep(1)  # the last children end
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    found = {}
    prefix = os.path.join(workdir, "cg-" + tag) + "."
    for dump in glob.glob(prefix + "*"):
        pid = int(dump[len(prefix):].split(".")[0].split("-")[0])
        found[pid] = found.get(pid, 0) + total_ir(dump)
    found.pop(server.pid, None)
    counts = [value for value in found.values() if value > 0]
    if len(counts) != CONNECTIONS:
        raise RuntimeError(f"{len(counts)} children counted, {CONNECTIONS} expected")
    return sum(counts) // len(counts)


def tcp_check(links, workdir, count):
    """Ir of the check for a TCP client, COUNT ip: rules, the last matching: the
    applet run by itself with the variables tcp-socket-accept would give it.
    Planning and the check are in one process, so the file is unchanged."""
    path = os.path.join(workdir, f"tcp{count}.rules")
    with open(path, "w") as f:
        f.write("".join(f"ip:10.{i // 256 % 256}.{i % 256}.0/24 allow\n" for i in range(count - 1)))
        f.write("ip:192.0.2.0/24 allow\n")
    out = os.path.join(workdir, f"cg-tcp{count}")
    subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={RUN}", "--dump-before=*execve*",
                    f"--callgrind-out-file={out}.%p", os.path.join(links, "ucspi-socket-rules-check"),
                    "--rules", path, TRUE],
                   env=dict(ENV, PROTO="TCP", TCPREMOTEIP="192.0.2.7"), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=True)
    return sum(total_ir(dump) for dump in glob.glob(out + ".*"))


def main():
    toolkit = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TOOLKIT", "build/toolkit"))
    if not shutil.which("valgrind"):
        print("valgrind is not installed; nothing measured", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="toolkit-bench-rules-") as workdir:
        links = os.path.join(workdir, "links")
        os.mkdir(links)
        for applet in ("local-stream-socket-listen", "local-stream-socket-accept", "ucspi-socket-rules-check"):
            os.symlink(toolkit, os.path.join(links, applet))
        baseline = true_alone(workdir)
        print(f"toolkit: {toolkit}")
        print(f"{'/bin/true, execve to exit (the exec of fork+exec)':<52} {baseline:>12,}")
        print(f"{'rules check per connection, matching rule last':<52} {'Ir':>12} {'of true':>8}")
        for kind in ("uid", "ip", "user"):
            for count in (10, 1000):
                for edited in (False, True):
                    value = per_connection(links, workdir, rules(kind, count), edited)
                    label = f"{count:>5} {kind}: rules, file {'edited since start' if edited else 'unchanged'}"
                    print(f"  {label:<50} {value:>12,} {100 * value / baseline:>7.1f}%", flush=True)
        for count in (10, 1000):
            value = tcp_check(links, workdir, count)
            label = f"{count:>5} ip: rules, TCP client, file unchanged"
            print(f"  {label:<50} {value:>12,} {100 * value / baseline:>7.1f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
