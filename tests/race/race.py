#!/usr/bin/env python3
"""Race harness for socket listeners: while a swapper process attacks the
listener's PATH, run `LISTENER... --mode 0666 --uid UID PATH true` many
times and watch a victim.

--attack path (the default): PATH itself keeps being replaced with a
symbolic link to a victim file (and removed again). A listener that changes
mode or owner by path after bind sooner or later changes the victim.

--attack directory: PATH is DIR/socket, and DIR keeps trading places with a
symbolic link to another directory that holds the victim under the same
name (--victim file: a regular file; --victim socket: the socket of a live
server). A listener that resolves PATH again between checking a stale
socket and unlinking it (or between binding and changing the node) sooner
or later unlinks or changes the victim. A listener that follows the link
once, at the start, finds the victim itself and must leave it alone: a
regular file is not a socket, and a live server's socket is in use. (A
stale socket is not a victim: one in the directory PATH leads to when the
listener starts is rightly replaced.)

Usage: race.py [--attack path|directory] [--victim file|socket] [--iterations N]
               [--seconds S] [--uid UID] [--stop-at-first] LISTENER...
Prints one summary line; exit status 0 when the victim never changed, 1 when
it did, 2 on a usage error. Must run as root (it gives files away)."""

import argparse
import collections
import os
import shutil
import signal
import socket
import stat
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
            print(rounds)
            return
        for step in (lambda: os.symlink(victim, temporary), lambda: os.rename(temporary, path),
                     lambda: os.unlink(path)):
            try:
                step()
            except OSError:
                pass


def swap_directory_forever(directory, target, stop_file, seconds):
    """swapper.c -d in Python: without renameat2 the swap takes two renames,
    so DIRECTORY is missing for a moment now and then."""
    link = directory + ".swap"
    aside = directory + ".real"
    os.symlink(target, link)
    deadline = time.monotonic() + seconds
    rounds = 0
    while True:
        rounds += 1
        if rounds % 1024 == 0 and (os.path.exists(stop_file) or time.monotonic() > deadline):
            break
        os.rename(directory, aside)
        os.rename(link, directory)
        os.rename(directory, link)
        os.rename(aside, directory)
    os.unlink(link)
    print(rounds)


def swapper_command(directory, attack):
    """The attacker's argv prefix: swapper.c compiled, or the Python version."""
    compiler = shutil.which("cc")
    if compiler:
        binary = os.path.join(directory, "swapper")
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "swapper.c")
        if subprocess.run([compiler, "-O2", "-o", binary, source]).returncode == 0:
            return [binary] + (["-d"] if attack == "directory" else [])
    return [sys.executable, os.path.abspath(__file__), "--swap-" + attack]


def outcome(result):
    """'exit 0', or the exit status with the end of the error line: what stopped the run."""
    if result.returncode == 0:
        return "exit 0"
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    reason = lines[-1].rsplit(": ", 1)[-1] if lines else ""
    return f"exit {result.returncode} {reason}".strip()


class Victim:
    """The file the attacker wants changed: made root's with mode 0600, and
    made again the same way when a listener did change it."""

    def __init__(self, path, kind):
        self.path = path
        self.kind = kind
        self.server = None
        self.make()

    def make(self):
        if self.server:
            self.server.close()
        try:
            os.unlink(self.path)  # whatever a listener left in its place
        except FileNotFoundError:
            pass
        if self.kind == "socket":
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(self.path)
            self.server.listen(64)
        else:
            with open(self.path, "w") as f:
                f.write("precious\n")
        os.chmod(self.path, VICTIM_MODE)
        os.chown(self.path, 0, 0)
        self.original = self.state()

    def state(self):
        try:
            status = os.lstat(self.path)
        except FileNotFoundError:
            return None
        return (status.st_ino, stat.S_IFMT(status.st_mode), stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid)

    def drain(self):
        """Take the listeners' probe connections, so that the backlog never fills."""
        if self.server:
            self.server.setblocking(False)
            try:
                while True:
                    self.server.accept()[0].close()
            except BlockingIOError:
                pass

    def close(self):
        if self.server:
            self.server.close()


def race(listener, attack, victim_kind, iterations, seconds, uid, stop_at_first):
    directory = tempfile.mkdtemp(prefix="toolkit-race-")
    try:
        os.chmod(directory, 0o700)
        if attack == "directory":
            swapped = os.path.join(directory, "d")
            other = os.path.join(directory, "other")
            os.mkdir(swapped)
            os.mkdir(other)
            path = os.path.join(swapped, "socket")
            victim = Victim(os.path.join(other, "socket"), victim_kind)
            target = other
        else:
            path = os.path.join(directory, "socket")
            victim = Victim(os.path.join(directory, "victim"), "file")
            swapped = path
            target = victim.path
        stop_file = os.path.join(directory, "stop")

        swapper = subprocess.Popen(swapper_command(directory, attack) + [swapped, target, stop_file,
                                                                          str(int(seconds) + 10)],
                                   stdout=subprocess.PIPE, text=True)
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
                victim.drain()
                if victim.state() != victim.original:
                    changes += 1
                    victim.make()
                    if stop_at_first:
                        break
        finally:
            open(stop_file, "w").close()
            try:
                rounds, _ = swapper.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                swapper.send_signal(signal.SIGKILL)
                rounds, _ = swapper.communicate()
            victim.close()
        elapsed = time.monotonic() - start
        refused = done - outcomes["exit 0"]
        summary = "; ".join(f"{count} x {what}" for what, count in outcomes.most_common())
        what = "a directory" if attack == "directory" else "PATH"
        print(f"race ({what} swapped, victim {victim.kind}): {done} runs in {elapsed:.1f} s, "
              f"{refused} refused, {rounds.strip() or '?'} swaps ({summary}); victim changed {changes} times")
        return changes
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv):
    if argv[:1] in (["--swap-path"], ["--swap-directory"]):
        path, target, stop_file, seconds = argv[1:5]
        swap = swap_forever if argv[0] == "--swap-path" else swap_directory_forever
        swap(path, target, stop_file, float(seconds))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attack", choices=("path", "directory"), default="path")
    parser.add_argument("--victim", choices=("file", "socket"), default="file")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--uid", type=int, default=12345)
    parser.add_argument("--stop-at-first", action="store_true")
    parser.add_argument("listener", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if not options.listener:
        parser.error("no LISTENER command")
    if options.attack == "path" and options.victim != "file":
        parser.error("--attack path has a file victim only")
    if os.geteuid() != 0:
        print("race: must run as root", file=sys.stderr)
        return 2
    changes = race(options.listener, options.attack, options.victim, options.iterations, options.seconds,
                   options.uid, options.stop_at_first)
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
