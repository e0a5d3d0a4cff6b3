#!/usr/bin/env python3
"""Wall time of a container entry point: our one-process chain
    envdir E softlimit -m 64000000 setlock -n L chdir D umask 027 setuidgid nobody /bin/true
against the same work done with the peer tools: the same six links from
daemontools (envdir, softlimit, setlock, setuidgid) with execline's cd and
umask, one execve per link; daemontools' four links alone (it has no chdir
or umask tool); and runit's single chpst (-e -m -L -u, no chdir or umask
either), which does its part in one process as toolkit does. Runs on
request, never as a verdict; needs root (setuidgid), hyperfine, and the
peers it finds.

Usage: tests/bench/entry_point.py [PATH/TO/toolkit] [--rounds N] [--runs N]
Prints each command's median wall and processor time over the rounds (order
rotated each round) and the ratios ours / best peer (lower is better).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def hyperfine(commands, runs, workdir):
    """Mean wall and processor (user + system) seconds of each command (argv
    lists), hyperfine -N (no shell)."""
    out = os.path.join(workdir, "hyperfine.json")
    argv = ["hyperfine", "-N", "--warmup", "20", "--runs", str(runs), "--export-json", out, "--style", "none"]
    argv += [" ".join(command) for command in commands]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    with open(out) as f:
        return [(result["mean"], result["user"] + result["system"]) for result in json.load(f)["results"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("toolkit", nargs="?", default=os.environ.get("TOOLKIT", "build/toolkit"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("entry_point: hyperfine is not installed (Debian package hyperfine)")
    if os.geteuid() != 0:
        sys.exit("entry_point: needs root (the chains end in setuidgid nobody)")
    toolkit = os.path.abspath(args.toolkit)
    workdir = tempfile.mkdtemp(prefix="toolkit-bench-entry-")
    try:
        env_dir = os.path.join(workdir, "E")
        os.mkdir(env_dir)
        for name, value in (("GREETING", "hello"), ("LANG", "C"), ("SERVICE", "app")):
            with open(os.path.join(env_dir, name), "w") as f:
                f.write(value + "\n")
        os.mkdir(os.path.join(workdir, "D"))
        # chpst takes the lock after it has become nobody: the lock must be open to it.
        os.chmod(workdir, 0o755)
        lock = os.path.join(workdir, "L")
        os.close(os.open(lock, os.O_WRONLY | os.O_CREAT, 0o666))
        os.chmod(lock, 0o666)
        links = os.path.join(workdir, "bin")
        os.mkdir(links)
        os.symlink(toolkit, os.path.join(links, "envdir"))
        ours = [os.path.join(links, "envdir"), env_dir, "softlimit", "-m", "64000000", "setlock", "-n", lock,
                "chdir", os.path.join(workdir, "D"), "umask", "027", "setuidgid", "nobody", "/bin/true"]
        commands = {"toolkit": ours}
        daemontools = [shutil.which(name) for name in ("envdir", "softlimit", "setlock", "setuidgid")]
        # /usr/bin/setuidgid may be ours when the package is installed: take daemontools' only.
        if all(daemontools) and not os.path.samefile(os.path.realpath(daemontools[3]), toolkit):
            commands["daemontools"] = [daemontools[0], env_dir, daemontools[1], "-m", "64000000", daemontools[2],
                                       "-n", lock, daemontools[3], "nobody", "/bin/true"]
            cd, umask = "/usr/lib/execline/bin/cd", "/usr/lib/execline/bin/umask"
            if os.access(cd, os.X_OK) and os.access(umask, os.X_OK):
                commands["daemontools+execline"] = [daemontools[0], env_dir, daemontools[1], "-m", "64000000",
                                                    daemontools[2], "-n", lock, cd, os.path.join(workdir, "D"),
                                                    umask, "027", daemontools[3], "nobody", "/bin/true"]
        if shutil.which("chpst"):
            commands["chpst"] = [shutil.which("chpst"), "-e", env_dir, "-m", "64000000", "-L", lock, "-u", "nobody",
                                 "/bin/true"]
        for name, argv in commands.items():
            result = subprocess.run(argv, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"entry_point: {name} chain failed ({result.returncode}): {result.stderr.strip()}")
        names = list(commands)
        times = {name: [] for name in names}
        cpu = {name: [] for name in names}
        for round_number in range(args.rounds):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for name, (wall, used) in zip(order, hyperfine([commands[n] for n in order], args.runs, workdir)):
                times[name].append(wall)
                cpu[name].append(used)
        medians = {name: statistics.median(values) for name, values in times.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
        for name in names:
            print(f"{name:21s} wall {medians[name] * 1e6:8.1f} us, cpu {cpu_medians[name] * 1e6:8.1f} us"
                  "   (wall per round: " + ", ".join(f"{t * 1e6:.1f}" for t in times[name]) + ")")
        peers = [name for name in names if name != "toolkit"]
        for peer in peers:
            print(f"ratio toolkit / {peer}: wall {medians['toolkit'] / medians[peer]:.2f}, "
                  f"cpu {cpu_medians['toolkit'] / cpu_medians[peer]:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
