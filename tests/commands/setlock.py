"""End-to-end tests of setlock: the final program holds the lock (as
daemontools' setlock's and runit's chpst -l's do, an flock seen in
/proc/locks; s6-setlock's is an fcntl lock), -n and -x when another process
holds it, waiting by default, and the plan-time checks."""

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
        def check(result, form):
            inode = os.stat(self.lock).st_ino
            self.assertEqual(result.stdout, f"lock FLOCK ADVISORY WRITE inode {inode}\n")
            self.assertEqual(stat.S_IMODE(os.stat(self.lock).st_mode), 0o600)
            os.remove(self.lock)
        self.case("setlock", [self.lock] + state("locks"), then=check)

    def test_same_lock_as_daemontools_setlock(self):
        ours = run([applet_link("setlock"), self.lock] + state("locks", "umask"))
        theirs = run([peer("setlock"), self.lock] + state("locks", "umask"))
        self.assertEqual(ours.stdout, theirs.stdout)
        self.assertEqual(ours.returncode, 0)

    def test_held_while_the_program_runs_and_released_when_it_ends(self):
        self.case("setlock", [self.lock] + TRY_LOCK + [self.lock], stdout="held\n")
        self.assertEqual(run(TRY_LOCK + [self.lock]).stdout, "free\n")

    def test_same_lock_and_file_as_chpst(self):
        # chpst -l waits, -L does not: setlock and setlock -n.
        for theirs_option, our_options in (("-l", []), ("-L", ["-n"])):
            with self.subTest(chpst=theirs_option):
                seen = {}
                for who, argv in (("ours", [applet_link("setlock")] + our_options),
                                  ("theirs", [peer("chpst"), theirs_option])):
                    lock = self.path(f"{who}{theirs_option}.lock")
                    result = run(argv + [lock] + state("locks", "umask"))
                    self.assertEqual((result.returncode, result.stderr), (0, ""))
                    inode = os.stat(lock).st_ino
                    seen[who] = (result.stdout.replace(f" inode {inode}\n", " inode OF-THE-FILE\n"),
                                 stat.S_IMODE(os.stat(lock).st_mode))
                self.assertEqual(seen["ours"], seen["theirs"])
                self.assertIn("lock FLOCK ADVISORY WRITE inode OF-THE-FILE\n", seen["ours"][0])

    def test_chpst_and_ours_exclude_each_other(self):
        self.case("setlock", [self.lock, peer("chpst"), "-L", self.lock, "true"], status=FAILURE,
                  stderr=None, then=lambda result, form: self.assertIn("unable to lock", result.stderr))
        for option in ("-l", "-L"):
            with self.subTest(chpst=option):
                self.case("setlock", ["-n", self.lock, "true"], status=FAILURE,
                          wrap=lambda argv: [peer("chpst"), option, self.lock] + argv,
                          fatal=f"setlock: FATAL: {self.lock}: locked by another process")

    def test_daemontools_setlock_is_excluded_by_ours(self):
        self.case("setlock", [self.lock, peer("setlock"), "-n", self.lock, "true"], status=111)

    def test_a_later_listen_link_does_not_release_the_lock(self):
        # The socket goes on descriptor 3, the lowest free one; the lock's
        # descriptor must not be there, or it would be closed and the lock gone.
        sock = self.path("sock")
        self.case("setlock", [self.lock, "local-stream-socket-listen", sock, "sh", "-c",
                              f"flock -n {self.lock} true && echo released || echo held"],
                  stdout="held\n")

    def test_a_descriptor_limit_of_ten_or_less_still_takes_the_lock(self):
        # No number from 10 up can be had: the lock takes the highest one there is.
        for limit in ("10", "8"):
            with self.subTest(limit=limit):
                self.case("softlimit", ["-o", limit, "setlock", self.lock, "sh", "-c",
                                        f"flock -n {self.lock} true && echo released || echo held"],
                          stdout="held\n")

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


# Every lock on the file argv[1] names, one a line (sorted): its kind, its
# mode, and who holds it: this process, a child of it, or another.
LOCKS_ON_FILE = ["python3", "-c", """
import os, sys
inode = str(os.stat(sys.argv[1]).st_ino)
seen = []
for line in open("/proc/locks"):
    fields = line.split()
    if "->" in fields or fields[5].rsplit(":", 1)[1] != inode:
        continue
    pid = int(fields[4])
    with open(f"/proc/{pid}/stat") as f:
        parent = int(f.read().rsplit(")", 1)[1].split()[1])
    seen.append(" ".join([fields[1], fields[3], "self" if pid == os.getpid() else
                          "child" if parent == os.getpid() else "other"]))
print("".join(line + "\\n" for line in sorted(seen)), end="")
"""]


class AgainstS6Setlock(LockTestCase):
    """s6-setlock takes another kind of lock (fcntl, POSIX in /proc/locks)."""

    def test_the_program_holds_a_posix_lock_under_s6_setlock(self):
        for options in ([], ["-n"]):
            with self.subTest(options=options):
                theirs = run([peer("s6-setlock")] + options + [self.lock] + LOCKS_ON_FILE + [self.lock])
                self.assertEqual((theirs.returncode, theirs.stdout), (0, "POSIX WRITE self\n"))
        self.case("setlock", [self.lock] + LOCKS_ON_FILE + [self.lock], stdout="FLOCK WRITE self\n")

    def test_s6_setlock_makes_the_file_readable_by_all(self):
        made = self.path("made-by-s6")
        result = run([peer("s6-setlock"), made, "true"], preexec_fn=lambda: os.umask(0o022))
        self.assertEqual((result.returncode, stat.S_IMODE(os.stat(made).st_mode)), (0, 0o644))
        self.case("setlock", [self.lock, "true"], preexec_fn=lambda: os.umask(0o022))
        self.assertEqual(stat.S_IMODE(os.stat(self.lock).st_mode), 0o600)

    def test_with_a_timeout_s6_setlock_leaves_the_lock_to_a_helper(self):
        # The helper (s6lockd-helper) holds it; the program is its parent.
        theirs = run([peer("s6-setlock"), "-t", "10000", self.lock] + LOCKS_ON_FILE + [self.lock])
        self.assertEqual((theirs.returncode, theirs.stdout), (0, "POSIX WRITE child\n"))

    def test_s6_setlock_and_ours_do_not_exclude_each_other(self):
        self.case("setlock", ["-n", self.lock, peer("s6-setlock"), "-n", self.lock] + LOCKS_ON_FILE + [self.lock],
                  stdout="FLOCK WRITE self\nPOSIX WRITE self\n")
        self.case("setlock", ["-n", self.lock] + LOCKS_ON_FILE + [self.lock],
                  wrap=lambda argv: [peer("s6-setlock"), "-n", self.lock] + argv,
                  stdout="FLOCK WRITE self\nPOSIX WRITE self\n")


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
        self.assertStopsBeforeListen(["setlock", self.lock, "true"], FAILURE, self.lock, "symbolic links")

    def test_not_a_regular_file(self):
        os.mkfifo(self.lock)
        self.case("setlock", [self.lock, "true"], status=FAILURE, fatal=(self.lock, "FIFO"))
        # Known while the chain is planned: refused before an earlier link acts.
        self.assertStopsBeforeListen(["setlock", self.lock, "true"], FAILURE, self.lock, "FIFO")
        os.remove(self.lock)
        os.mkdir(self.lock)
        self.case("setlock", [self.lock, "true"], status=FAILURE, fatal=(self.lock, "a directory, not a regular file"))
        self.assertStopsBeforeListen(["setlock", self.lock, "true"], FAILURE, self.lock, "a directory")

    def test_usage(self):
        self.case("setlock", [], status=USAGE, fatal="FILE: missing operand")
        self.case("setlock", ["", "true"], status=USAGE, fatal="FILE: empty path")
        self.case("setlock", [self.lock], status=USAGE, fatal="missing next program")
        self.case("setlock", ["-n", "-N", self.lock, "true"], status=USAGE, fatal=("-n", "contradicts -N"))
        self.case("setlock", ["-x", "-X", self.lock, "true"], status=USAGE, fatal=("-x", "contradicts -X"))
        self.case("setlock", ["-q", self.lock, "true"], status=USAGE, fatal="unknown option")
        self.assertFalse(os.path.exists(self.lock))


if __name__ == "__main__":
    main()
