"""End-to-end tests of setlock: the final program holds the lock (as
daemontools' setlock's does, an flock seen in /proc/locks), -n and -x when
another process holds it, waiting by default, and the plan-time checks."""

import fcntl
import os
import stat
import subprocess

from harness import FAILURE, USAGE, applet_link, main, run
from process_state import StateTestCase, peer, state, wait_for_blocked_lock

# Tries to take the lock on argv[1] without waiting: prints "free" or "held".
TRY_LOCK = ["python3", "-c", """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("held")
"""]


class LockTestCase(StateTestCase):
    def setUp(self):
        super().setUp()
        self.lock = self.path("lock")

    def hold(self):
        """Hold the lock from here until the test ends."""
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd


class Holding(LockTestCase):
    def test_the_final_program_holds_the_lock(self):
        self.case("setlock", [self.lock] + state("locks"), stdout="lock FLOCK ADVISORY WRITE\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.lock).st_mode), 0o600)

    def test_same_lock_as_daemontools_setlock(self):
        ours = run([applet_link("setlock"), self.lock] + state("locks", "umask"))
        theirs = run([peer("setlock"), self.lock] + state("locks", "umask"))
        self.assertEqual(ours.stdout, theirs.stdout)
        self.assertEqual(ours.returncode, 0)

    def test_held_while_the_program_runs_and_released_when_it_ends(self):
        self.case("setlock", [self.lock] + TRY_LOCK + [self.lock], stdout="held\n")
        self.assertEqual(run(TRY_LOCK + [self.lock]).stdout, "free\n")

    def test_daemontools_setlock_is_excluded_by_ours(self):
        self.case("setlock", [self.lock, peer("setlock"), "-n", self.lock, "true"], status=111)

    def test_existing_file_is_kept(self):
        self.write("lock", "content\n", 0o640)
        self.case("setlock", ["-n", self.lock, "true"])
        with open(self.lock) as f:
            self.assertEqual(f.read(), "content\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.lock).st_mode), 0o640)

    def test_waits_by_default(self):
        holder = self.hold()
        for options in ([], ["-N"], ["--wait"]):
            with self.subTest(options=options):
                chain = subprocess.Popen([applet_link("setlock")] + options + [self.lock, "echo", "got it"],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    wait_for_blocked_lock(chain.pid)
                finally:
                    fcntl.flock(holder, fcntl.LOCK_UN)
                    stdout, stderr = chain.communicate(timeout=20)
                self.assertEqual((chain.returncode, stdout, stderr), (0, "got it\n", ""))
                fcntl.flock(holder, fcntl.LOCK_EX)


class Held(LockTestCase):
    def test_no_wait_is_111(self):
        self.hold()
        marker = self.path("ran")
        for options in (["-n"], ["--no-wait"], ["-n", "-X"], ["-nX"]):
            with self.subTest(options=options):
                self.case("setlock", options + [self.lock, "touch", marker], status=FAILURE,
                          fatal=f"setlock: FATAL: {self.lock}: locked by another process")
        self.assertFalse(os.path.exists(marker))

    def test_no_wait_quietly_is_0_and_nothing_runs(self):
        self.hold()
        marker = self.path("ran")
        for options in (["-n", "-x"], ["-nx"], ["--no-wait", "--exit-quietly"]):
            with self.subTest(options=options):
                self.case("setlock", options + [self.lock, "touch", marker], status=0, stdout="", stderr="")
        self.assertFalse(os.path.exists(marker))

    def test_same_statuses_as_daemontools(self):
        self.hold()
        for options in (["-n"], ["-nx"]):
            with self.subTest(options=options):
                ours = run([applet_link("setlock")] + options + [self.lock, "true"])
                theirs = run([peer("setlock")] + options + [self.lock, "true"])
                self.assertEqual(ours.returncode, theirs.returncode)


class Refused(LockTestCase):
    def test_directory_missing_stops_the_chain_before_it_acts(self):
        missing = self.path("no-such-dir", "lock")
        self.case("setlock", [missing, "true"], status=FAILURE, fatal=(missing, "No such file or directory"))
        # -x does not hide a mistake in the command line's paths.
        self.case("setlock", ["-n", "-x", missing, "true"], status=FAILURE, fatal=missing)
        self.assertStopsBeforeListen(["setlock", missing, "true"], FAILURE, missing)

    def test_symlink_is_refused(self):
        target = self.path("target")
        os.symlink(target, self.lock)
        self.case("setlock", [self.lock, "true"], status=FAILURE, fatal=(self.lock, "symbolic links"))
        self.assertFalse(os.path.exists(target), "created a file through the link")

    def test_not_a_regular_file(self):
        os.mkfifo(self.lock)
        self.case("setlock", [self.lock, "true"], status=FAILURE, fatal=(self.lock, "FIFO"))
        os.remove(self.lock)
        os.mkdir(self.lock)
        self.case("setlock", [self.lock, "true"], status=FAILURE, fatal=self.lock)

    def test_usage(self):
        self.case("setlock", [], status=USAGE, fatal="FILE: missing operand")
        self.case("setlock", [self.lock], status=USAGE, fatal="missing next program")
        self.case("setlock", ["-n", "-N", self.lock, "true"], status=USAGE, fatal=("-n", "contradicts -N"))
        self.case("setlock", ["-x", "-X", self.lock, "true"], status=USAGE, fatal=("-x", "contradicts -X"))
        self.case("setlock", ["-q", self.lock, "true"], status=USAGE, fatal="unknown option")
        self.assertFalse(os.path.exists(self.lock))


if __name__ == "__main__":
    main()
