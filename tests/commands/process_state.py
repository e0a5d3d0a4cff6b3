"""Shared by the tests of the process-state links (chdir, chroot, umask,
softlimit, setlock, setsid, envdir, envuidgid, setenv, unsetenv,
setuidgid-fromenv): a probe that reports what the program at the end of a
chain inherited, the peer tools to compare with, and the check that a failed
plan left no socket behind."""

import fcntl
import os
import shutil
import sys
import tempfile
import time
import unittest

from harness import TOOLKIT, ToolkitTestCase, applet_link, run

IS_ROOT = os.geteuid() == 0

# What the next program sees of its process state, one fact a line, for
# comparing our chain with a peer's: environment (without what differs between
# any two runs), working directory, umask, soft and hard limits, identity,
# session, and the locks this process holds (kind and the file's inode).
STATE = r"""
import os, resource, sys
what = sys.argv[1:] or ["env", "cwd", "umask", "limits", "ids", "session", "locks"]
out = []
if "env" in what:
    for key in sorted(os.environ):
        if key not in ("_", "SHLVL", "PWD", "OLDPWD"):
            out.append("env %s=%r" % (key, os.environ[key]))
if "cwd" in what:
    out.append("cwd " + os.getcwd())
if "umask" in what:
    mask = os.umask(0)
    out.append("umask %04o" % mask)
if "limits" in what:
    for name in sorted(n for n in dir(resource) if n.startswith("RLIMIT_")):
        out.append("limit %s %s" % (name, resource.getrlimit(getattr(resource, name))))
if "ids" in what:
    with open("/proc/self/status") as f:
        for line in f:
            if line.split(":")[0] in ("Uid", "Gid", "Groups"):
                out.append(" ".join(line.split()))
if "session" in what:
    out.append("session-leader %s group-leader %s" % (os.getsid(0) == os.getpid(), os.getpgrp() == os.getpid()))
if "locks" in what:
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if "->" not in fields and len(fields) > 4 and fields[4] == str(os.getpid()):
                out.append("lock " + " ".join(fields[1:4]) + " inode " + fields[5].rsplit(":", 1)[1])
print("\n".join(out))
"""


# The system's Python: the one running the tests may sit in a home directory
# that the account a test drops to cannot enter.
SYSTEM_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def state(*what):
    """argv of the probe, reporting WHAT (all of it by default)."""
    return [SYSTEM_PYTHON, "-c", STATE] + list(what)


def peer(name):
    """The peer tool NAME, or skip the test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise unittest.SkipTest(f"{name} is not installed (peer to compare with)")
    return path


def wait_for_blocked_lock(pid, timeout=10):
    """Until process PID waits for a lock (a "->" line of /proc/locks): bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/locks") as f:
            if any("->" in line.split() and line.split()[5] == str(pid) for line in f):
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never waited for the lock")


def needs_root(test):
    return unittest.skipUnless(IS_ROOT, "needs root")(test)


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


class StateTestCase(ToolkitTestCase):
    """A scratch directory anyone can reach (tests drop to nobody)."""

    def setUp(self):
        super().setUp()
        self.directory = tempfile.mkdtemp(prefix="toolkit-state-")
        os.chmod(self.directory, 0o755)
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.directory, *names)

    def write(self, name, text, mode=0o644):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def script(self, name, text="#!/bin/sh\necho ran\n"):
        return self.write(name, text, 0o755)

    def public_link(self, applet):
        """A link named APPLET to a copy of the binary that nobody can run
        (the build directory may be private)."""
        links = self.path("links")
        if not os.path.isdir(links):
            os.mkdir(links)
            shutil.copy2(TOOLKIT, os.path.join(links, "toolkit"))
        link = os.path.join(links, applet)
        if not os.path.lexists(link):
            os.symlink("toolkit", link)
        return link

    def assertStopsBeforeListen(self, applet_args, status, *fragments, applet=None, public=False, **kwargs):
        """`local-stream-socket-listen SOCK APPLET ARGS... true`: the plan of
        APPLET fails with STATUS, and the socket never listened. A failure
        later, at run time, would remove the socket node again (the undo of a
        failed start), so the listen link also signals readiness (--notify-fd)
        once it listens: nothing may arrive. PUBLIC: through public_link(), with
        the socket in a directory every account may write, for a run as
        another user (preexec_fn=)."""
        directory = self.directory
        if public:
            directory = self.path("anyone")
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o1777)
        sock = os.path.join(directory, "plan.sock")
        listen = self.public_link("local-stream-socket-listen") if public else applet_link("local-stream-socket-listen")
        ready, notify = os.pipe()
        moved = fcntl.fcntl(notify, fcntl.F_DUPFD_CLOEXEC, 10)  # clear of 0-2 and of 3, the socket's
        os.close(notify)
        try:
            result = run([listen, "--notify-fd", str(moved), sock] + applet_args, pass_fds=(moved,), **kwargs)
        finally:
            os.close(moved)
        with os.fdopen(ready, "rb") as signalled:
            self.assertEqual(signalled.read(), b"", "an earlier link acted before the plan was complete")
        self.assertFatal(result, applet or applet_args[0], status, *fragments)
        self.assertFalse(os.path.lexists(sock), "an earlier link acted before the plan was complete")
        return result
