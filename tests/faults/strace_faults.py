"""Finding the call to break and breaking it with strace's syscall tampering."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commands"))
import harness  # noqa: E402

STRACE = shutil.which("strace")


def strace_unusable():
    """Why strace cannot trace here (no strace, ptrace refused), or None."""
    if STRACE is None:
        return "strace is not installed"
    result = subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True)
    if result.returncode != 0:
        return "strace cannot trace here: " + (result.stderr.strip().splitlines() or ["?"])[-1]
    return None

# ASan's leak check refuses to run under ptrace; everything else of it still works.
_ASAN = "detect_leaks=0"

_CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)$")


@dataclasses.dataclass
class Fault:
    applet: str
    args: list
    syscall: str          # "dup2|dup3": whichever of them the C library uses here
    match: str            # regular expression on the call's arguments as strace prints them
    error: str            # errno name, or "retval=N"
    status: int
    fragments: list
    applet_named: str = ""  # the applet whose name starts the message, when not APPLET
    nth: int = 1            # the nth call that matches, for calls made more than once
    setup: str = ""         # "stale": a socket nobody listens on already sits at {dir}/s
    leaves: list = None     # what {dir} must hold afterwards (None: not checked)
    known_bug: str = ""     # the check fails today for this reason (an expected failure)
    replies: list = None    # servers: what each client in turn reads (None: it cannot connect)
    lines: list = None      # servers: regular expressions for the stderr lines, in order


def trace_spec(syscall):
    return "trace=" + ",".join("?" + name for name in _names(syscall))


def inject_spec(fault, where):
    how = fault.error if fault.error.startswith("retval=") else "error=" + fault.error
    return f"inject={where.syscall}:{how}:when={where.nth_of_syscall}"


@dataclasses.dataclass
class Where:
    syscall: str
    nth_of_syscall: int  # strace's when=: counted per process and per syscall

    def __str__(self):
        return f"{self.syscall} #{self.nth_of_syscall}"


def _env(env):
    env = dict(env if env is not None else os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), _ASAN]))
    return env


def _strace(options, argv, env, timeout, pass_fds):
    with tempfile.NamedTemporaryFile("r", prefix="toolkit-strace-") as log:
        result = subprocess.run([STRACE, "-f", "-qq", "-e", "signal=none", "-o", log.name] + options + argv,
                                env=_env(env), timeout=timeout, pass_fds=pass_fds,
                                capture_output=True, text=True)
        return result, log.read().splitlines()


def _names(syscall):
    return syscall.split("|")


def locate(argv, fault, *, env=None, timeout=20, pass_fds=()):
    """Which call to break: run ARGV traced (no fault) and find the fault.nth call
    of fault.syscall whose arguments match fault.match. None when there is none."""
    trace = ",".join("?" + name for name in _names(fault.syscall))
    _, lines = _strace(["-e", "trace=" + trace], argv, env, timeout, pass_fds)
    return find_in_trace(lines, fault)


def inject_run(argv, fault, where, *, env=None, timeout=20, pass_fds=()):
    """Run ARGV with the call at WHERE broken as FAULT says. Returns the result
    (text stdout/stderr) and whether strace did inject."""
    result, lines = _strace(["-e", "trace=" + where.syscall, "-e", inject_spec(fault, where)], argv, env,
                            timeout, pass_fds)
    return result, any("(INJECTED)" in line for line in lines)


def calls_in(lines):
    """(pid, name, args, nth_of_syscall_in_pid) for each call in a -f trace, in order."""
    counts = {}
    first_line = True
    for line in lines:
        call = _CALL.match(line)
        if not call:
            continue
        pid, name, args = call.groups()
        if first_line and name == "execve":
            first_line = False
            continue
        first_line = False
        counts[(pid, name)] = counts.get((pid, name), 0) + 1
        yield pid, name, args, counts[(pid, name)]


def find_in_trace(lines, fault):
    matched = 0
    for _, name, args, nth in calls_in(lines):
        if name in _names(fault.syscall) and re.search(fault.match, args):
            matched += 1
            if matched == fault.nth:
                return Where(name, nth)
    return None


def children_of(pid):
    """Direct children of PID."""
    return [child for child, _ in harness.children(pid)]


class TracedServer:
    """A long-running ARGV under strace -f (a server): stop() sends SIGTERM to the
    traced program (strace's child) and returns (status, stderr, trace lines)."""

    def __init__(self, argv, options, *, env=None, pass_fds=()):
        self.log = tempfile.NamedTemporaryFile("r", prefix="toolkit-strace-")
        self.err = tempfile.TemporaryFile("w+")
        self.strace = subprocess.Popen([STRACE, "-f", "-qq", "-e", "signal=none", "-o", self.log.name] + options + argv,
                                       env=_env(env), pass_fds=pass_fds, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=self.err)

    def running(self):
        return self.strace.poll() is None

    def stop(self, timeout=10):
        if self.strace.poll() is None:
            for pid in children_of(self.strace.pid):
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
        try:
            self.strace.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.strace.kill()
            self.strace.wait()
        self.err.seek(0)
        stderr = self.err.read()
        self.err.close()
        lines = self.log.read().splitlines()
        self.log.close()
        return self.strace.returncode, stderr, lines
