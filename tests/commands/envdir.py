"""End-to-end tests of envdir: the environment the next program gets from a
directory, compared with daemontools' envdir, s6-envdir and runit's chpst -e;
a directory or file that cannot be read stops the chain, at plan time or when
it runs."""

import fcntl
import os
import shutil
import subprocess

from harness import FAILURE, NOT_FOUND, USAGE, main, run, applet_link
from process_state import StateTestCase, as_nobody, needs_root, peer, wait_for_blocked_lock

PRINT_ENV = ["env", "-0"]


def environment(output):
    """The NAME=value entries of env -0, sorted (the order of new variables is readdir's)."""
    return sorted(entry for entry in output.split("\0") if entry)


class EnvdirTestCase(StateTestCase):
    def setUp(self):
        super().setUp()
        self.env = self.path("env")
        os.mkdir(self.env)
        self.base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KEEP": "kept", "GONE": "here"}

    def put(self, name, content):
        return self.write(os.path.join("env", name), content)


class Reading(EnvdirTestCase):
    def fill(self):
        self.put("PLAIN", "value\n")
        self.put("FIRST", "first line\nsecond line\n")
        self.put("BLANKS", "spaced out \t \t\n")
        self.put("LEADING", "  kept leading\n")
        self.put("NULS", b"one\0two\0\n")
        self.put("NOEOL", "no newline")
        self.put("EMPTYLINE", "\n")
        self.put("GONE", "")
        self.put(".hidden", "never\n")

    def test_values(self):
        self.fill()
        result = self.case("envdir", [self.env] + PRINT_ENV, env=self.base)[0]
        self.assertEqual(environment(result.stdout), sorted([
            "PATH=" + self.base["PATH"], "KEEP=kept", "PLAIN=value", "FIRST=first line",
            "BLANKS=spaced out", "LEADING=  kept leading", "NULS=one\ntwo\n", "NOEOL=no newline",
            "EMPTYLINE="]))

    def test_same_as_daemontools_envdir(self):
        self.fill()
        ours = run([applet_link("envdir"), self.env] + PRINT_ENV, env=self.base)
        theirs = run([peer("envdir"), self.env] + PRINT_ENV, env=self.base)
        self.assertEqual(environment(ours.stdout), environment(theirs.stdout))

    def test_same_as_s6_envdir(self):
        self.fill()
        ours = run([applet_link("envdir"), self.env] + PRINT_ENV, env=self.base)
        theirs = run([peer("s6-envdir"), self.env] + PRINT_ENV, env=self.base)
        self.assertEqual(environment(ours.stdout), environment(theirs.stdout))

    def test_same_as_chpst_e(self):
        self.fill()
        ours = run([applet_link("envdir"), self.env] + PRINT_ENV, env=self.base)
        theirs = run([peer("chpst"), "-e", self.env] + PRINT_ENV, env=self.base)
        self.assertEqual(environment(ours.stdout), environment(theirs.stdout))

    def test_name_with_equals_is_skipped_as_s6_envdir(self):
        # daemontools and chpst -e make an entry "A=B=value", which nothing can read back.
        self.put("A=B", "value\n")
        ours = run([applet_link("envdir"), self.env] + PRINT_ENV, env=self.base)
        theirs = run([peer("s6-envdir"), self.env] + PRINT_ENV, env=self.base)
        self.assertEqual(environment(ours.stdout), environment(theirs.stdout))
        self.assertNotIn("A=", ours.stdout)
        for tool in (["envdir"], ["chpst", "-e"]):
            with self.subTest(peer=tool[0]):
                theirs = run([peer(tool[0])] + tool[1:] + [self.env] + PRINT_ENV, env=self.base)
                self.assertIn("A=B=value", environment(theirs.stdout))

    def test_empty_directory_changes_nothing(self):
        self.case("envdir", [self.env] + PRINT_ENV, env=self.base,
                  stdout=run(PRINT_ENV, env=self.base).stdout)

    def test_untouched_variables_keep_their_order(self):
        self.put("KEEP", "changed\n")
        result = self.case("envdir", [self.env] + PRINT_ENV, env=self.base)[0]
        self.assertEqual(result.stdout.split("\0")[:3],
                         ["PATH=" + self.base["PATH"], "KEEP=changed", "GONE=here"])

    def test_path_from_the_directory_decides_the_search(self):
        bin_dir = self.path("bin")
        self.script("bin/only-in-envdir-path", "#!/bin/sh\necho found\n")
        self.put("PATH", bin_dir + "\n")
        self.case("envdir", [self.env, "only-in-envdir-path"], env=self.base, stdout="found\n")
        # Without it, the same name is not found, and that is known before anything runs.
        os.mkdir(self.path("empty"))
        self.case("envdir", [self.path("empty"), "only-in-envdir-path"], env=self.base,
                  status=NOT_FOUND, fatal="only-in-envdir-path: not found in PATH")

    def test_relative_directory_after_chdir(self):
        self.put("WHERE", "inside\n")
        self.case("chdir", [self.directory, "envdir", "env", "printenv", "WHERE"], stdout="inside\n")


class Failures(EnvdirTestCase):
    def test_missing_directory_stops_the_chain_before_it_acts(self):
        missing = self.path("missing")
        self.case("envdir", [missing, "true"], status=FAILURE,
                  fatal=(missing, "No such file or directory"))
        self.assertStopsBeforeListen(["envdir", missing, "true"], FAILURE, missing)

    def test_not_a_directory(self):
        plain = self.write("plain", "x\n")
        self.case("envdir", [plain, "true"], status=FAILURE, fatal=(plain, "Not a directory"))

    def test_subdirectory_is_refused(self):
        os.mkdir(os.path.join(self.env, "SUB"))
        self.assertStopsBeforeListen(["envdir", self.env, "true"], FAILURE,
                                     self.env + "/SUB", "a directory, not a regular file")

    def test_value_too_long_for_execve_stops_the_plan(self):
        # NAME=VALUE and its NUL may take 131,072 bytes (MAX_ARG_STRLEN): one more is
        # refused naming the file, before any link acts, not an E2BIG blamed on the program.
        self.put("V", "a" * (131072 - 3) + "\n")
        self.case("envdir", [self.env, "sh", "-c", 'echo ${#V}'], env=self.base, stdout="131069\n")
        self.put("V", "a" * (131072 - 2) + "\n")
        self.assertStopsBeforeListen(["envdir", self.env, "true"], FAILURE,
                                     self.env + "/V", "first line is too long for the environment")

    def test_fifo_does_not_hang(self):
        os.mkfifo(os.path.join(self.env, "PIPE"))
        self.case("envdir", [self.env, "true"], status=FAILURE, fatal=("PIPE", "FIFO"))

    def test_chpst_e_passes_over_what_ours_refuses(self):
        # chpst -e skips a subdirectory and reads a FIFO as an empty file
        # (the variable is unset); here each stops the chain.
        os.mkdir(os.path.join(self.env, "SUB"))
        os.mkfifo(os.path.join(self.env, "PIPE"))
        self.put("PLAIN", "value\n")
        env = dict(self.base, SUB="kept", PIPE="gone")
        theirs = run([peer("chpst"), "-e", self.env] + PRINT_ENV, env=env, timeout=10)
        self.assertEqual((theirs.returncode, environment(theirs.stdout)),
                         (0, sorted(["PATH=" + self.base["PATH"], "KEEP=kept", "GONE=here", "SUB=kept",
                                     "PLAIN=value"])))
        ours = run([applet_link("envdir"), self.env] + PRINT_ENV, env=env, timeout=10)
        self.assertExit(ours, FAILURE)

    def test_unreadable_file_stops_the_plan(self):
        self.put("SECRET", "x\n")
        os.chmod(os.path.join(self.env, "SECRET"), 0)
        preexec = as_nobody if os.geteuid() == 0 else None
        result = run([self.public_link("envdir"), self.env, "true"], preexec_fn=preexec)
        self.assertFatal(result, "envdir", FAILURE, self.env + "/SECRET", "Permission denied")
        # The files are read while planning: the link before never acted.
        self.assertStopsBeforeListen(["envdir", self.env, "true"], FAILURE, self.env + "/SECRET",
                                     "Permission denied", public=True, preexec_fn=preexec)

    @needs_root
    def test_unreadable_when_it_runs_fails_then(self):
        # Planned as root (readable), read again after setuidgid dropped to nobody.
        self.put("SECRET", "x\n")
        os.chmod(os.path.join(self.env, "SECRET"), 0o600)
        marker = self.path("ran")
        result = run([applet_link("setuidgid"), "nobody", "envdir", self.env, "touch", marker])
        self.assertFatal(result, "envdir", FAILURE, self.env + "/SECRET", "Permission denied")
        self.assertFalse(os.path.exists(marker))

    def test_path_that_hides_the_program_is_127(self):
        self.put("PATH", "/nonexistent\n")
        self.case("envdir", [self.env, "true"], status=NOT_FOUND, fatal="true: not found in PATH")

    def test_changed_between_plan_and_run_is_read_and_searched_again(self):
        # setlock waits for a lock we hold; meanwhile PATH in the directory
        # changes, so the final program, found when planning, is gone when it runs.
        lock = self.path("lock")
        self.put("PATH", "/usr/bin:/bin\n")
        holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(holder, fcntl.LOCK_EX)
        chain = subprocess.Popen([applet_link("setlock"), lock, "envdir", self.env, "true"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_blocked_lock(chain.pid)
            self.put("PATH", "/nonexistent\n")
        finally:
            os.close(holder)
            stdout, stderr = chain.communicate(timeout=20)
        self.assertEqual((chain.returncode, stdout, stderr),
                         (NOT_FOUND, "", "envdir: FATAL: true: not found in PATH\n"))

    def test_usage(self):
        self.case("envdir", [], status=USAGE, fatal="DIR: missing operand")
        self.case("envdir", ["", "true"], status=USAGE, fatal="DIR: empty path")
        self.case("envdir", [self.env], status=USAGE, fatal="NEXT-PROG: missing next program")
        self.case("envdir", ["--bogus", self.env, "true"], status=USAGE, fatal="unknown option")


class EntryPoint(EnvdirTestCase):
    @needs_root
    def test_the_whole_entry_point_costs_two_execve_calls(self):
        strace = shutil.which("strace")
        if strace is None or run([strace, "-qq", "-o", os.devnull, "true"]).returncode != 0:
            self.skipTest("strace cannot trace here")
        self.put("GREETING", "hello\n")
        os.mkdir(self.path("D"))
        log = self.path("trace")
        chain = [applet_link("envdir"), self.env, "softlimit", "-m", "64000000", "setlock", "-n",
                 self.path("L"), "chdir", self.path("D"), "umask", "027", "setuidgid", "nobody", "/bin/true"]
        result = run([strace, "-f", "-qq", "-o", log, "-e", "signal=none", "-e", "trace=execve"] + chain)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        with open(log) as f:
            calls = [line.split()[1] for line in f if "execve(" in line]
        self.assertEqual(len(calls), 2, calls)
        self.assertTrue(calls[1].startswith('execve("/bin/true"'), calls)


if __name__ == "__main__":
    main()
