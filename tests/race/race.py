#!/usr/bin/env python3
"""Race harness for socket listeners: while a swapper process keeps replacing
PATH with a symbolic link to a victim file (and removing it again), run
`LISTENER... --mode 0666 --uid UID PATH true` many times and watch the
victim. A listener that changes mode or owner by path after bind sooner or
later changes the victim; a safe one never does.

Usage: race.py [--iterations N] [--seconds S] [--uid UID] [--stop-at-first] LISTENER...
Prints one summary line; exit status 0 when the victim never changed, 1 when
it did, 2 on a usage error. Must run as root (it gives files away)."""

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VICTIM_MODE = 0o600


def swap_forever(path, victim, stop_file, seconds):
    """swapper.c in Python, for machines without a C compiler (slower, so
    it hits less often)."""
    temporary = path + ".swap"
    deadline = time.monotonic() + seconds
    rounds = 0
    while True:
        rounds += 1
        if rounds % 4096 == 0 and (os.path.exists(stop_file) or time.monotonic() > deadline):
            return
        for step in (lambda: os.symlink(victim, temporary), lambda: os.rename(temporary, path),
                     lambda: os.unlink(path)):
            try:
                step()
            except OSError:
                pass


def swapper_command(directory):
    """The attacker's argv prefix: swapper.c compiled, or the Python version."""
    compiler = shutil.which("cc")
    if compiler:
        binary = os.path.join(directory, "swapper")
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "swapper.c")
        if subprocess.run([compiler, "-O2", "-o", binary, source]).returncode == 0:
            return [binary]
    return [sys.executable, os.path.abspath(__file__), "--swap"]


def outcome(result):
    """'exit 0', or the exit status with the end of the error line: what stopped the run."""
    if result.returncode == 0:
        return "exit 0"
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    reason = lines[-1].rsplit(": ", 1)[-1] if lines else ""
    return f"exit {result.returncode} {reason}".strip()


def victim_state(victim):
    status = os.lstat(victim)
    return (status.st_ino, status.st_mode, status.st_uid, status.st_gid)


def race(listener, iterations, seconds, uid, stop_at_first):
    directory = tempfile.mkdtemp(prefix="toolkit-race-")
    try:
        os.chmod(directory, 0o700)
        victim = os.path.join(directory, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.chmod(victim, VICTIM_MODE)
        os.chown(victim, 0, 0)
        original = victim_state(victim)
        path = os.path.join(directory, "socket")
        stop_file = os.path.join(directory, "stop")

        swapper = subprocess.Popen(swapper_command(directory) + [path, victim, stop_file,
                                                                  str(int(seconds) + 10)])
        outcomes = collections.Counter()
        changes = 0
        done = 0
        start = time.monotonic()
        try:
            while done < iterations and time.monotonic() - start < seconds:
                result = subprocess.run(listener + ["--mode", "0666", "--uid", str(uid), path, "true"],
                                        stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
                done += 1
                outcomes[outcome(result)] += 1
                if victim_state(victim) != original:
                    changes += 1
                    if not os.path.exists(victim):
                        break
                    os.chmod(victim, VICTIM_MODE)
                    os.chown(victim, 0, 0)
                    if stop_at_first:
                        break
        finally:
            open(stop_file, "w").close()
            try:
                swapper.wait(timeout=20)
            except subprocess.TimeoutExpired:
                swapper.send_signal(signal.SIGKILL)
                swapper.wait()
        elapsed = time.monotonic() - start
        summary = "; ".join(f"{count} x {what}" for what, count in outcomes.most_common())
        print(f"race: {done} runs in {elapsed:.1f} s ({summary}); victim changed {changes} times")
        return changes
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv):
    if argv[:1] == ["--swap"]:
        path, victim, stop_file, seconds = argv[1:5]
        swap_forever(path, victim, stop_file, float(seconds))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--uid", type=int, default=12345)
    parser.add_argument("--stop-at-first", action="store_true")
    parser.add_argument("listener", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if not options.listener:
        parser.error("no LISTENER command")
    if os.geteuid() != 0:
        print("race: must run as root", file=sys.stderr)
        return 2
    changes = race(options.listener, options.iterations, options.seconds, options.uid, options.stop_at_first)
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
