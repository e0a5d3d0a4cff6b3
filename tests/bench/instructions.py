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
import subprocess
import sys
import tempfile

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


def main():
    if not shutil.which("valgrind"):
        print("valgrind is not installed; nothing measured", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as workdir:
        os.chmod(workdir, 0o1777)  # setuidgid's dump is written after it dropped root
        links = os.path.join(workdir, "links")
        os.mkdir(links)
        for applet in ("fdmove", "setuidgid"):
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
        print(f"toolkit: {TOOLKIT}")
        print(f"{'measure':<44} {'instructions':>14}")
        for name, value in rows:
            print(f"{name:<44} {value:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
