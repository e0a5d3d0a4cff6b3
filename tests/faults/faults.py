"""Fault injection: make each system call an applet makes on purpose fail (with
strace's syscall tampering) and check that the failure is clean: one FATAL line
naming what failed, the documented exit status, the next program never run,
nothing left behind, no crash, no hang.

The whole syscall x applet matrix is the FAULTS table below; `python3
faults.py --matrix` prints it."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commands"))
import harness  # noqa: E402
from harness import FAILURE, CANNOT_RUN, NOT_FOUND, STATIC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strace_faults import Fault, STRACE, inject_run, locate  # noqa: E402

MARK = "FAULT_MARK"
REACHED = "reached\n"
# The program at the end of every chain: it prints REACHED only if it ran.
END = ["printenv", MARK]

# An fd the test opens for fdmove to move (kept away from 0..2 so that moving it
# does not disturb the output we observe).
SPARE_FD = 8

OK = 0  # the fault is absorbed: retried or harmless, and the chain goes on


def passwd_fragment():
    return "/etc/passwd" if STATIC else "daemon"


# applet, its arguments (the chain goes on with END), the syscall to break and
# a regular expression its arguments must match (which of the calls is ours),
# the error (an errno name, or "retval=N" to fake a success), the exit status,
# and the fragments the one FATAL line must hold.
FAULTS = [
    # fdmove
    Fault("fdmove", ["9", "8"], "fcntl", r"^8, F_GETFD", "EBADF", FAILURE, ["descriptor 8", "Bad file descriptor"]),
    Fault("fdmove", ["9", "8"], "dup2|dup3", r"^8, 9", "EMFILE", FAILURE, ["descriptor 9", "Too many open files"]),
    Fault("fdmove", ["9", "8"], "dup2|dup3", r"^8, 9", "EINTR", OK, []),
    Fault("fdmove", ["-c", "9", "8"], "dup2|dup3", r"^8, 9", "EBUSY", FAILURE, ["descriptor 9", "Device or resource busy"]),
    Fault("fdmove", ["8", "8"], "fcntl", r"^8, F_GETFD", "EBADF", FAILURE, ["descriptor 8", "Bad file descriptor"]),
    Fault("fdmove", ["9", "8"], "close", r"^8\)", "EIO", OK, []),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "EACCES", CANNOT_RUN, ["printenv", "Permission denied"]),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "ENOENT", NOT_FOUND, ["printenv", "No such file or directory"]),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "E2BIG", CANNOT_RUN, ["printenv", "Argument list too long"]),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "ENOEXEC", CANNOT_RUN, ["printenv", "Exec format error"]),
    Fault("fdmove", ["9", "8"], "prctl", r"PR_SET_NAME", "EINVAL", OK, []),
    # setuidgid
    Fault("setuidgid", ["daemon"], "openat|open", r'"/etc/passwd"', "EACCES", FAILURE, [passwd_fragment()]),
    Fault("setuidgid", ["daemon"], "setgroups", r"", "EPERM", FAILURE, ["setgroups", "Operation not permitted"]),
    Fault("setuidgid", ["daemon"], "setgid", r"", "EPERM", FAILURE, ["setgid 1", "Operation not permitted"]),
    Fault("setuidgid", ["1:1"], "setgid", r"", "EINVAL", FAILURE, ["setgid 1", "Invalid argument"]),
    Fault("setuidgid", ["daemon"], "setuid", r"^1\)", "EAGAIN", FAILURE, ["setuid 1", "Resource temporarily unavailable"]),
    Fault("setuidgid", ["daemon"], "getresuid", r"", "EFAULT", FAILURE, ["getresuid", "Bad address"]),
    Fault("setuidgid", ["daemon"], "getresgid", r"", "EFAULT", FAILURE, ["getresgid", "Bad address"]),
    # The check that root cannot be regained must notice a kernel that lets it.
    Fault("setuidgid", ["daemon"], "setuid", r"^0\)", "retval=0", FAILURE, ["setuid", "root privileges could be regained"]),
    Fault("setuidgid", ["daemon"], "setresuid|setreuid", r"0", "retval=0", FAILURE, ["setuid", "root privileges could be regained"]),
    Fault("setuidgid", ["daemon"], "execve", r"printenv", "EACCES", CANNOT_RUN, ["printenv", "Permission denied"]),
    # A chain: the failing link names itself, not the first one.
    Fault("setuidgid", ["1:1", "fdmove", "9", "8"], "dup2|dup3", r"^8, 9", "EMFILE", FAILURE,
          ["descriptor 9", "Too many open files"], applet_named="fdmove"),
]


def format_matrix():
    lines = ["| applet | syscall | which call | injected | status | message holds |",
             "|---|---|---|---|---|---|"]
    for fault in FAULTS:
        lines.append(f"| {fault.applet} {' '.join(fault.args)} | {fault.syscall.replace('|', ' or ')} | `{fault.match or 'first'}` | "
                     f"{fault.error} | {fault.status} | {', '.join(fault.fragments) or '(runs on)'} |")
    return "\n".join(lines)


class Faults(harness.ToolkitTestCase):
    @classmethod
    def setUpClass(cls):
        if STRACE is None:
            raise unittest.SkipTest("strace is not installed")
        if os.geteuid() != 0:
            raise unittest.SkipTest("setuidgid faults need root")
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, SPARE_FD)
        os.close(fd)
        cls.env = dict(os.environ, **{MARK: REACHED.strip()})
        cls.controls = {}

    @classmethod
    def tearDownClass(cls):
        os.close(SPARE_FD)

    def argv(self, fault):
        return [harness.applet_link(fault.applet)] + fault.args + END

    def control(self, fault):
        """The same command without a fault must reach the end of the chain,
        or the fault tests prove nothing."""
        key = tuple(self.argv(fault))
        if key not in self.controls:
            result = harness.run(list(key), env=self.env, pass_fds=(SPARE_FD,))
            self.assertClean(result, REACHED)
            self.controls[key] = True

    def check(self, fault):
        self.control(fault)
        argv = self.argv(fault)
        where = locate(argv, fault, env=self.env, pass_fds=(SPARE_FD,))
        if where is None:
            self.skipTest(f"{fault.applet} makes no {fault.syscall} call matching {fault.match!r} here")
        result, injected = inject_run(argv, fault, where, env=self.env, pass_fds=(SPARE_FD,))
        self.assertTrue(injected, f"strace did not inject into {where}: {result.stderr!r}")
        self.assertGreaterEqual(result.returncode, 0, f"killed by signal {-result.returncode}: {result.stderr!r}")
        if fault.status == OK:
            self.assertClean(result, REACHED)
        else:
            self.assertFatal(result, fault.applet_named or fault.applet, fault.status, *fault.fragments)
            self.assertEqual(result.stdout, "", "the next program ran after a failure")


def _add_tests():
    for index, fault in enumerate(FAULTS):
        name = re.sub(r"\W+", "_", f"test_{index:02d}_{fault.applet}_{fault.syscall}_{fault.error}").strip("_")
        setattr(Faults, name, lambda self, fault=fault: self.check(fault))


_add_tests()

if __name__ == "__main__":
    if sys.argv[1:] == ["--matrix"]:
        print(format_matrix())
        raise SystemExit(0)
    harness.main()
