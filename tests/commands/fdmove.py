"""End-to-end tests of fdmove: what the program at the end of the chain finds
on its descriptors, every documented exit status, and that nothing is moved
before the whole chain is known to be runnable."""

import os
import shutil
import tempfile

from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, TOOLKIT, USAGE, ToolkitTestCase,
                     main, probe, run)

INT_MAX = 2**31 - 1

# Opens files at exact descriptor numbers, then execs the rest of its arguments:
#   launcher 5=/path/a 7=/path/b -- argv...
LAUNCHER = r"""
import os, sys
split = sys.argv.index("--")
for spec in sys.argv[1:split]:
    number, path = spec.split("=", 1)
    fd = os.open(path, os.O_RDONLY)
    if fd == int(number):
        os.set_inheritable(fd, True)
    else:
        os.dup2(fd, int(number))  # inheritable
        os.close(fd)
os.execv(sys.argv[split + 1], sys.argv[split + 1:])
"""

# Prints, for each descriptor number given, what it refers to (or "closed").
FD_REPORT = r"""
import os, sys
for n in sys.argv[1:]:
    try:
        print(n + ":" + os.path.basename(os.readlink("/proc/self/fd/" + n)))
    except FileNotFoundError:
        print(n + ":closed")
"""


def fd_report(*numbers):
    return probe(FD_REPORT) + [str(n) for n in numbers]


class FdTestCase(ToolkitTestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="fdmove-test-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        for name in ("alpha", "beta"):
            with open(os.path.join(self.directory, name), "w") as f:
                f.write(name + "\n")

    def path(self, name):
        return os.path.join(self.directory, name)

    def with_open(self, argv, **descriptors):
        """ARGV started with descriptor N open on the file NAME, for each fdN=NAME."""
        specs = [f"{key[2:]}={self.path(name)}" for key, name in descriptors.items()]
        return probe(LAUNCHER) + specs + ["--"] + argv

    def executable(self, name, text, mode=0o755):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


class Moving(FdTestCase):
    def test_move_closes_from(self):
        self.case("fdmove", ["7", "5"] + fd_report(5, 7), stdout="5:closed\n7:alpha\n",
                     wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_move_replaces_what_was_on_to(self):
        self.case("fdmove", ["7", "5"] + fd_report(5, 7), stdout="5:closed\n7:alpha\n",
                     wrap=lambda argv: self.with_open(argv, fd5="alpha", fd7="beta"))

    def test_copy_leaves_from_open(self):
        for option in ("-c", "--copy"):
            with self.subTest(option=option):
                self.case("fdmove", [option, "7", "5"] + fd_report(5, 7), stdout="5:alpha\n7:alpha\n",
                          wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_repeated_copy_option(self):
        self.case("fdmove", ["-c", "--copy", "7", "5"] + fd_report(5, 7), stdout="5:alpha\n7:alpha\n",
                  wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_same_descriptor_stays_open(self):
        for option in ([], ["-c"]):
            with self.subTest(option=option):
                self.case("fdmove", option + ["5", "5"] + fd_report(5), stdout="5:alpha\n",
                          wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_standard_descriptors(self):
        # The usual use: stderr joins stdout.
        self.case("fdmove", ["-c", "2", "1", "sh", "-c", "echo out; echo err >&2"], stdout="out\nerr\n")

    def test_socket_on_standard_input(self):
        # fdmove 0 3: an inetd-style program finds descriptor 3 on its standard input.
        self.case("fdmove", ["0", "3", "cat"], stdout="alpha\n", input="ignored\n",
                  wrap=lambda argv: self.with_open(argv, fd3="alpha"))

    def test_environment_is_passed_on_unchanged(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "B": "2", "A": "1", "ODD": "x=y\nz", "E": ""}
        direct = run(["env", "-0"], env=env)
        self.case("fdmove", ["1", "1", "fdmove", "-c", "2", "2", "env", "-0"], stdout=direct.stdout, env=env)

    def test_c_numbers(self):
        for to, actual in (("010", 8), ("0x9", 9), ("0XA", 10), ("00", 0), ("0", 0)):
            with self.subTest(to=to):
                self.case("fdmove", [to, "5"] + fd_report(actual, 5), stdout=f"{actual}:alpha\n5:closed\n",
                          wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_options_stop_at_first_operand(self):
        # "-c" after TO FROM belongs to the next program, not to fdmove.
        self.case("fdmove", ["7", "5"] + fd_report(5, 7) + ["-c"], stdout="5:closed\n7:alpha\n-c:closed\n",
                  wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_double_dash_ends_options(self):
        self.case("fdmove", ["--", "7", "5"] + fd_report(7), stdout="7:alpha\n",
                  wrap=lambda argv: self.with_open(argv, fd5="alpha"))

    def test_in_process_chain_of_moves(self):
        self.case("fdmove", ["7", "5", "fdmove", "-c", "8", "7", "fdmove", "9", "8"] + fd_report(5, 7, 8, 9),
                  stdout="5:closed\n7:alpha\n8:closed\n9:alpha\n",
                  wrap=lambda argv: self.with_open(argv, fd5="alpha"))

class Help(ToolkitTestCase):
    def test_help_exits_0(self):
        def usage(result, form):
            self.assertTrue(result.stdout.startswith("Usage: fdmove [OPTIONS] TO FROM NEXT-PROG"), result.stdout)
            self.assertIn("--copy", result.stdout)
        for spelling in ("--help", "--usage", "-?"):
            with self.subTest(spelling=spelling):
                self.case("fdmove", [spelling], then=usage)

    def test_help_wins_even_before_operands(self):
        self.case("fdmove", ["-c", "--help", "1", "2", "false"],
                  then=lambda result, form: self.assertIn("Usage: fdmove", result.stdout))

class UsageErrors(ToolkitTestCase):
    def assertUsage(self, args, *fragments):
        with self.subTest(args=args):
            self.case("fdmove", args, status=USAGE, fatal=fragments, stdout="")

    def test_missing_operands(self):
        self.assertUsage([], "TO: missing operand")
        self.assertUsage(["1"], "FROM: missing operand")
        self.assertUsage(["-c", "1"], "FROM: missing operand")

    def test_missing_next_program(self):
        self.assertUsage(["1", "2"], "NEXT-PROG: missing next program")
        self.assertUsage(["1", "1", "fdmove", "2", "2"], "NEXT-PROG: missing next program")

    def test_descriptor_beyond_int_max(self):
        self.assertUsage([str(INT_MAX + 1), "1", "true"], "TO", "out of range", str(INT_MAX + 1))
        self.assertUsage(["1", str(INT_MAX + 1), "true"], "FROM", "out of range")
        self.assertUsage(["1", "0x80000000", "true"], "FROM", "out of range")
        self.assertUsage(["1", "99999999999999999999999", "true"], "FROM", "99999999999999999999999")

    def test_negative_descriptors(self):
        self.assertUsage(["--", "-1", "1", "true"], "TO", "-1")
        self.assertUsage(["1", "-1", "true"], "FROM", "-1")
        # Without "--", a leading "-1" is an option, and an unknown one.
        self.assertUsage(["-1", "1", "true"], "-1", "unknown option")

    def test_garbage_descriptors(self):
        for text in ("", "x", "5x", " 5", "5 ", "+5", "0x", "08", "1.0", "1e3", "٣"):
            with self.subTest(text=text):
                self.assertUsage([text, "1", "true"], "TO: not a number")
                self.assertUsage(["1", text, "true"], "FROM: not a number")

    def test_bad_options(self):
        self.assertUsage(["--bogus", "1", "1", "true"], "bogus", "unknown option")
        self.assertUsage(["-x", "1", "1", "true"], "-x", "unknown option")
        self.assertUsage(["--cop", "1", "1", "true"], "cop", "unknown option")  # no prefix guessing
        self.assertUsage(["--copy=yes", "1", "1", "true"], "copy", "takes no value")

    def test_usage_error_in_a_later_link_moves_nothing(self):
        # If the first link acted, stderr would be a copy of stdout and the message
        # would arrive on stdout.
        self.case("fdmove", ["-c", "2", "1", "setuidgid", "--bogus", "nobody", "true"], status=USAGE,
                  fatal="bogus", fatal_by="setuidgid", stdout="")
        self.case("fdmove", ["-c", "2", "1", "fdmove", "1", "x", "true"], status=USAGE,
                  fatal="FROM: not a number: x", stdout="")

class SystemFailures(FdTestCase):
    def test_closed_from_is_111_naming_it(self):
        marker = self.path("ran")
        self.case("fdmove", ["7", "9", "touch", marker], status=FAILURE,
                  fatal=("descriptor 9", os.strerror(9)), stdout="",
                  then=lambda result, form: self.assertEqual(
                      result.stderr, "fdmove: FATAL: descriptor 9: Bad file descriptor\n"))
        self.assertFalse(os.path.exists(marker), "the next program ran")

    def test_closed_from_with_copy_and_same_number(self):
        for args in (["-c", "7", "9"], ["9", "9"], ["-c", "9", "9"]):
            with self.subTest(args=args):
                self.case("fdmove", args + ["true"], status=FAILURE, fatal="descriptor 9")

    def test_to_beyond_the_descriptor_limit(self):
        self.case("fdmove", [str(INT_MAX), "1", "true"], status=FAILURE,
                  fatal=(f"descriptor {INT_MAX}", "Bad file descriptor"))

    def test_later_link_failure_stops_the_chain(self):
        marker = self.path("ran")
        self.case("fdmove", ["1", "1", "fdmove", "7", "9", "touch", marker], status=FAILURE,
                  fatal="descriptor 9")
        self.assertFalse(os.path.exists(marker))

class NextProgram(FdTestCase):
    def test_not_found_is_127_and_nothing_moved(self):
        # Were stderr moved first, the message would arrive on stdout.
        self.case("fdmove", ["-c", "2", "1", "no-such-program-anywhere"], status=NOT_FOUND, fatal=(), stdout="",
                  then=lambda result, form: self.assertEqual(
                      result.stderr, "fdmove: FATAL: no-such-program-anywhere: not found in PATH\n"))

    def test_missing_path_is_127(self):
        missing = self.path("missing")
        self.case("fdmove", ["-c", "2", "1", missing], status=NOT_FOUND, fatal=(missing, "not found"), stdout="")

    def test_missing_at_the_end_of_a_longer_chain_is_127(self):
        self.case("fdmove", ["-c", "2", "1", "fdmove", "1", "1", "no-such-program-anywhere"], status=NOT_FOUND,
                  fatal="no-such-program-anywhere", stdout="")

    def test_not_executable_is_126(self):
        plain = self.executable("plain", "#!/bin/sh\necho ran\n", mode=0o644)
        self.case("fdmove", ["-c", "2", "1", plain], status=CANNOT_RUN, fatal=(plain, "Permission denied"),
                  stdout="")

    def test_directory_is_126(self):
        self.case("fdmove", ["1", "1", self.directory], status=CANNOT_RUN, fatal=self.directory)

    def test_no_shell_fallback_without_hash_bang(self):
        script = self.executable("script", "echo ran\n")
        self.case("fdmove", ["1", "1", script], status=CANNOT_RUN, fatal=(script, "Exec format error"), stdout="")

    def test_missing_interpreter_is_126_naming_the_script(self):
        # The script exists; what is missing is its interpreter: 126, not 127.
        script = self.executable("badint", "#!/nonexistent/sh\necho ran\n")
        self.case("fdmove", ["1", "1", script], status=CANNOT_RUN,
                  fatal=(script, "No such file or directory", "interpreter"), stdout="")

class SearchPath(FdTestCase):
    def env_with(self, path):
        env = dict(os.environ)
        env.pop("PATH", None)
        env["FDMOVE_TEST"] = "kept"
        if path is not None:
            env["PATH"] = path
        return env

    def test_unset_path_uses_the_system_default(self):
        # confstr(_CS_PATH) holds /bin and /usr/bin, where env lives.
        result = run([TOOLKIT, "fdmove", "1", "1", "env"], env=self.env_with(None))
        self.assertExit(result, 0)
        self.assertEqual(result.stderr, "")
        self.assertNotRegex(result.stdout, r"(?m)^PATH=")
        self.assertRegex(result.stdout, r"(?m)^FDMOVE_TEST=kept$")

    def test_unset_path_never_means_the_current_directory(self):
        self.executable("only-here", "#!/bin/sh\necho ran\n")
        result = run([TOOLKIT, "fdmove", "1", "1", "only-here"], env=self.env_with(None), cwd=self.directory)
        self.assertFatal(result, "fdmove", NOT_FOUND, "only-here")
        self.assertEqual(result.stdout, "")

    def test_empty_element_is_the_current_directory(self):
        self.executable("only-here", "#!/bin/sh\necho ran\n")
        for path in (":/nonexistent", "/nonexistent:", "/nonexistent::/also-not"):
            with self.subTest(path=path):
                result = run([TOOLKIT, "fdmove", "1", "1", "only-here"], env=self.env_with(path),
                             cwd=self.directory)
                self.assertClean(result, "ran\n")

    def test_search_goes_past_a_file_it_cannot_run(self):
        os.mkdir(self.path("first"))
        os.mkdir(self.path("second"))
        with open(self.path("first/prog"), "w") as f:
            f.write("#!/bin/sh\necho first\n")
        os.chmod(self.path("first/prog"), 0o644)
        with open(self.path("second/prog"), "w") as f:
            f.write("#!/bin/sh\necho second\n")
        os.chmod(self.path("second/prog"), 0o755)
        search = self.path("first") + ":" + self.path("second")
        result = run([TOOLKIT, "fdmove", "1", "1", "prog"], env=self.env_with(search))
        self.assertClean(result, "second\n")
        # Found only where it cannot run: 126, naming the file found.
        result = run([TOOLKIT, "fdmove", "1", "1", "prog"], env=self.env_with(self.path("first")))
        self.assertFatal(result, "fdmove", CANNOT_RUN, self.path("first/prog"))

    def test_a_slash_skips_the_search(self):
        self.executable("here", "#!/bin/sh\necho here\n")
        result = run([TOOLKIT, "fdmove", "1", "1", "./here"], env=self.env_with("/nonexistent"),
                     cwd=self.directory)
        self.assertClean(result, "here\n")

    def test_a_slash_never_means_an_applet(self):
        # "./fdmove" is a file to exec, not the applet.
        self.executable("fdmove", "#!/bin/sh\necho file \"$@\"\n")
        result = run([TOOLKIT, "fdmove", "1", "1", "./fdmove", "x"], cwd=self.directory)
        self.assertClean(result, "file x\n")


class Tracing(FdTestCase):
    """What only a system call trace shows: the calls that were not made."""

    def strace(self, argv):
        strace = shutil.which("strace")
        if strace is None:
            self.skipTest("strace is not installed")
        if run([strace, "-qq", "-o", os.devnull, "true"]).returncode != 0:
            self.skipTest("strace cannot trace here (ptrace not permitted)")
        log = self.path("trace")
        result = run([strace, "-f", "-qq", "-o", log, "-e", "trace=execve,dup,dup2,dup3,close,fcntl",
                      "-e", "signal=none"] + argv)
        with open(log) as f:
            calls = f.read().splitlines()
        self.assertIn(f'execve("{argv[0]}"', calls[0], "the trace does not show the program starting")
        return result, calls

    def test_whole_chain_is_planned_before_fd_1_moves(self):
        result, calls = self.strace([TOOLKIT, "fdmove", "5", "1", "setuidgid", "--bogus", "nobody", "true"])
        self.assertFatal(result, "setuidgid", USAGE, "bogus")
        for call in calls:
            self.assertNotRegex(call, r"\b(dup[23]?|close)\(1[,)]", "fd 1 was touched")
            self.assertNotRegex(call, r"\bdup[23]?\(", "a descriptor was duplicated")

    def test_missing_program_moves_nothing(self):
        result, calls = self.strace([TOOLKIT, "fdmove", "7", "1", "no-such-program-anywhere"])
        self.assertFatal(result, "fdmove", NOT_FOUND)
        self.assertEqual([c for c in calls if "dup" in c or "close(1)" in c], [])

    def test_in_process_links_cost_no_execve(self):
        argv = [TOOLKIT, "fdmove", "1", "1", "fdmove", "-c", "2", "1", "setuidgid", "nobody",
                "fdmove", "1", "1", "/bin/true"]
        if os.geteuid() != 0:
            self.skipTest("setuidgid needs root")
        result, calls = self.strace(argv)
        self.assertClean(result, "")
        execs = [c for c in calls if "execve(" in c]
        # toolkit itself, then /bin/true: nothing in between.
        self.assertEqual(len(execs), 2, "\n".join(execs))
        self.assertIn(f'execve("{TOOLKIT}"', execs[0])
        self.assertIn('execve("/bin/true"', execs[1])


if __name__ == "__main__":
    main()
