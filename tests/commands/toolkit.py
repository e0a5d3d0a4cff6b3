"""End-to-end tests of the multiplexer: dispatch by the invoked name,
`toolkit APPLET`, --list/--help/--version/--install, unknown applets, and the
name the running process carries while a chain goes on."""

import os
import re
import shutil
import stat
import subprocess
import tempfile

from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, TOOLKIT, USAGE, ToolkitTestCase, main, public_toolkit, run,
                     which)

BUILD_DIR = os.environ.get("TOOLKIT_BUILD_DIR", os.path.dirname(TOOLKIT))


def expected_applets():
    """The registry, read the way meson reads it."""
    names = []
    with open(os.path.join(os.environ.get("TOOLKIT_SOURCE_DIR", "."), "commands", "list")) as registry:
        for line in registry:
            name = line.strip()
            if name and not name.startswith("#"):
                names.append(name)
    return names


def renamed_binary(directory, name):
    """A symlink to the binary called NAME inside DIRECTORY."""
    path = os.path.join(directory, name)
    os.symlink(TOOLKIT, path)
    return path


class Listing(ToolkitTestCase):
    def test_list_prints_every_applet_of_the_registry(self):
        result = run([TOOLKIT, "--list"])
        self.assertClean(result, "".join(name + "\n" for name in expected_applets()))

    def test_help_is_usage_and_the_list_on_stdout(self):
        result = run([TOOLKIT, "--help"])
        self.assertClean(result)
        self.assertTrue(result.stdout.startswith("Usage: toolkit APPLET"), result.stdout)
        for option in ("--list", "--help", "--version", "--install"):
            self.assertIn(option, result.stdout)
        self.assertTrue(result.stdout.endswith("".join(name + "\n" for name in expected_applets())))

    def test_usage_and_question_mark_are_help(self):
        wanted = run([TOOLKIT, "--help"]).stdout
        for spelling in ("--usage", "-?"):
            with self.subTest(spelling=spelling):
                self.assertClean(run([TOOLKIT, spelling]), wanted)

    def test_version(self):
        result = run([TOOLKIT, "--version"])
        self.assertClean(result)
        self.assertRegex(result.stdout, r"^toolkit [0-9]+\.[0-9]+\.[0-9]+\n$")

    def test_no_arguments_is_usage_on_stderr(self):
        result = run([TOOLKIT])
        self.assertExit(result, USAGE)
        self.assertEqual(result.stdout, "")
        self.assertTrue(result.stderr.startswith("Usage: toolkit APPLET"), result.stderr)
        self.assertIn("fdmove\n", result.stderr)

    def test_multiplexer_options_take_no_arguments(self):
        for option in ("--list", "--help", "--usage", "-?", "--version"):
            with self.subTest(option=option):
                result = run([TOOLKIT, option, "extra"])
                self.assertFatal(result, "toolkit", USAGE, option, "takes no arguments")
                self.assertEqual(result.stdout, "")

    def test_unknown_multiplexer_option_is_a_usage_error(self):
        result = run([TOOLKIT, "--bogus"])
        self.assertFatal(result, "toolkit", USAGE, "--bogus", "unknown option")
        self.assertEqual(result.stdout, "")

    def test_output_that_cannot_be_written_is_111(self):
        # A script reading --list or a usage must not get nothing with status 0.
        for argv in ([TOOLKIT, "--list"], [TOOLKIT, "--version"], [TOOLKIT, "fdmove", "--help"]):
            with self.subTest(argv=argv[1:]):
                with open("/dev/full", "w") as full:
                    result = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=20)
                self.assertFatal(result, argv[1] if argv[1] == "fdmove" else "toolkit", FAILURE,
                                 "standard output: No space left on device")
        result = subprocess.run([TOOLKIT, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, timeout=20, preexec_fn=lambda: os.close(1))
        self.assertFatal(result, "toolkit", FAILURE, "standard output: Bad file descriptor")

    def test_help_takes_no_value(self):
        for option in ("--help=x", "--usage=x"):
            with self.subTest(option=option):
                result = run([TOOLKIT, "fdmove", option])
                self.assertFatal(result, "fdmove", USAGE, f"{option.split('=')[0]}: takes no value")
                self.assertEqual(result.stdout, "")


class UnknownApplet(ToolkitTestCase):
    def test_misspelt_applet_gets_a_suggestion(self):
        result = run([TOOLKIT, "fdmvoe", "1", "1", "true"])
        self.assertFatal(result, "toolkit", NOT_FOUND)
        self.assertEqual(result.stderr, "toolkit: FATAL: fdmvoe: unknown applet (did you mean fdmove?)\n")
        self.assertEqual(result.stdout, "")

    def test_other_misspellings(self):
        for typo, meant in (("setuidgd", "setuidgid"), ("fdmov", "fdmove"), ("Fdmove", "fdmove")):
            with self.subTest(typo=typo):
                result = run([TOOLKIT, typo])
                self.assertFatal(result, "toolkit", NOT_FOUND, f"{typo}: unknown applet (did you mean {meant}?)")

    def test_far_away_name_gets_no_suggestion(self):
        result = run([TOOLKIT, "zzzzzzzzzzzz"])
        self.assertFatal(result, "toolkit", NOT_FOUND)
        self.assertEqual(result.stderr, "toolkit: FATAL: zzzzzzzzzzzz: unknown applet\n")

    def test_an_empty_applet_name_is_a_usage_error(self):
        result = run([TOOLKIT, "", "1", "1", "true"])
        self.assertExit(result, USAGE)
        self.assertEqual(result.stderr, "toolkit: FATAL: APPLET: empty applet name\n")
        self.assertEqual(result.stdout, "")

    def test_a_path_is_not_an_applet(self):
        # The multiplexer runs applets only; it is not a general exec wrapper.
        result = run([TOOLKIT, "/bin/true"])
        self.assertFatal(result, "toolkit", NOT_FOUND, "/bin/true: unknown applet")

    def test_an_empty_invoked_name_is_named(self):
        for argv0 in ("", "fdmove/"):
            with self.subTest(argv0=argv0):
                result = run([argv0, "--list"], executable=TOOLKIT)
                self.assertFatal(result, "toolkit", NOT_FOUND, f'"{argv0}": unknown applet')
                self.assertEqual(result.stdout, "")

    def test_unknown_invoked_name_is_127(self):
        with tempfile.TemporaryDirectory() as directory:
            result = run([renamed_binary(directory, "frobnicate"), "1", "1", "true"])
        self.assertFatal(result, "toolkit", NOT_FOUND, "frobnicate: unknown applet")


class Dispatch(ToolkitTestCase):
    def test_basename_of_argv0_chooses_the_applet(self):
        with tempfile.TemporaryDirectory() as directory:
            fdmove = renamed_binary(directory, "fdmove")
            result = run([fdmove, "-c", "2", "1", "sh", "-c", "echo to-stderr >&2"])
        # fd 2 became a copy of fd 1: the line arrives on stdout.
        self.assertClean(result, "to-stderr\n")

    def test_argv0_is_what_counts_not_the_file_name(self):
        result = subprocess.run(["fdmove", "-c", "2", "1", "sh", "-c", "echo moved >&2"],
                                executable=TOOLKIT, capture_output=True, text=True, timeout=20)
        self.assertClean(result, "moved\n")

    def test_names_starting_with_toolkit_are_the_multiplexer(self):
        with tempfile.TemporaryDirectory() as directory:
            for name in ("toolkit", "toolkit-0.1", "toolkit.static"):
                with self.subTest(name=name):
                    result = run([renamed_binary(directory, name), "--list"])
                    self.assertClean(result, "".join(n + "\n" for n in expected_applets()))

    def test_multicall_form_is_the_applet_itself(self):
        # Same help text, same messages, same statuses under either form.
        helped = self.case("fdmove", ["--help"])
        failed = self.case("fdmove", ["--bogus", "1", "1", "true"], status=USAGE, fatal="--bogus")
        outcomes = [(h.returncode, h.stdout, h.stderr, f.returncode, f.stdout, f.stderr)
                    for h, f in zip(helped, failed)]
        self.assertEqual(outcomes[0], outcomes[1])
        self.assertTrue(outcomes[0][1].startswith("Usage: fdmove "), outcomes[0][1])
        self.assertEqual(outcomes[0][3], USAGE)

    def test_messages_name_the_applet_never_a_path_or_toolkit(self):
        def no_path_or_toolkit(result, form):
            self.assertNotIn("/", result.stderr)
            self.assertNotIn("toolkit", result.stderr)
        with tempfile.TemporaryDirectory() as directory:
            deep = os.path.join(directory, "sub", "dir")
            os.makedirs(deep)
            self.case("fdmove", ["7", "9", "true"], status=FAILURE, fatal="descriptor 9", then=no_path_or_toolkit,
                      cwd=deep)
            # And under a link elsewhere, called by a path or a relative name.
            for label, argv in (("path", [renamed_binary(deep, "fdmove")]), ("relative", ["./fdmove"])):
                with self.subTest(form=label):
                    result = run(argv + ["7", "9", "true"], cwd=deep)
                    self.assertFatal(result, "fdmove", FAILURE, "descriptor 9")
                    no_path_or_toolkit(result, label)

    def test_later_link_speaks_under_its_own_name(self):
        self.case("fdmove", ["1", "1", "setuidgid", "--bogus", "nobody", "true"], status=USAGE, fatal="bogus",
                  fatal_by="setuidgid")

class ChainStatuses(ToolkitTestCase):
    """The statuses about the next program, through the multiplexer."""

    def test_next_program_not_found_is_127(self):
        result = run([TOOLKIT, "fdmove", "1", "1", "no-such-program-anywhere"])
        self.assertEqual(result.stderr, "fdmove: FATAL: no-such-program-anywhere: not found in PATH\n")
        self.assertFatal(result, "fdmove", NOT_FOUND)

    def test_next_program_not_executable_is_126(self):
        with tempfile.TemporaryDirectory() as directory:
            result = run([TOOLKIT, "setuidgid", "0:0", "fdmove", "1", "1", directory])
        self.assertFatal(result, "fdmove", CANNOT_RUN, directory, "Is a directory")

    def test_status_of_the_final_program_is_passed_on(self):
        result = run([TOOLKIT, "fdmove", "1", "1", "sh", "-c", "exit 42"])
        self.assertExit(result, 42)
        self.assertEqual((result.stdout, result.stderr), ("", ""))


class Install(ToolkitTestCase):
    def setUp(self):
        # Hard links need the same file system as the binary: work beside it.
        self.directory = tempfile.mkdtemp(prefix="install-test-", dir=BUILD_DIR)
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.binary = os.stat(TOOLKIT)

    def target(self, name):
        return os.path.join(self.directory, name)

    def test_hard_links(self):
        result = run([TOOLKIT, "--install", self.directory])
        self.assertClean(result, "".join(f"toolkit: linked {self.target(n)}\n" for n in expected_applets()))
        self.assertEqual(sorted(os.listdir(self.directory)), sorted(expected_applets()))
        for name in expected_applets():
            st = os.lstat(self.target(name))
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual((st.st_dev, st.st_ino), (self.binary.st_dev, self.binary.st_ino))

    def test_symbolic_links(self):
        result = run([TOOLKIT, "--install", "-s", self.directory])
        self.assertClean(result, "".join(f"toolkit: symlinked {self.target(n)}\n" for n in expected_applets()))
        for name in expected_applets():
            self.assertTrue(os.path.islink(self.target(name)))
            self.assertEqual(os.readlink(self.target(name)), os.path.realpath(TOOLKIT))

    def test_symbolic_links_beside_the_binary_are_relative(self):
        copy = os.path.join(self.directory, "toolkit")
        shutil.copy2(TOOLKIT, copy)
        result = run([copy, "--install", "-s", self.directory])
        self.assertExit(result, 0)
        for name in expected_applets():
            self.assertEqual(os.readlink(self.target(name)), "toolkit")
        moved = self.directory + "-moved"
        os.rename(self.directory, moved)
        try:
            result = run([os.path.join(moved, "fdmove"), "1", "1", "echo", "still-works"])
        finally:
            os.rename(moved, self.directory)
        self.assertClean(result, "still-works\n")

    def test_installed_links_run_their_applet(self):
        self.assertExit(run([TOOLKIT, "--install", "-s", self.directory]), 0)
        result = run([self.target("fdmove"), "-c", "2", "1", "sh", "-c", "echo via-link >&2"])
        self.assertClean(result, "via-link\n")

    def test_second_install_keeps_what_is_already_ours(self):
        self.assertExit(run([TOOLKIT, "--install", self.directory]), 0)
        result = run([TOOLKIT, "--install", "-s", self.directory])
        self.assertClean(result, "".join(f"toolkit: kept {self.target(n)}\n" for n in expected_applets()))
        # Still the hard links of the first run: nothing was replaced.
        self.assertFalse(os.path.islink(self.target("fdmove")))

    def test_foreign_files_are_never_overwritten(self):
        foreign = {
            "fdmove": "regular",
            "setuidgid": "symlink-elsewhere",
        }
        with open(self.target("fdmove"), "w") as f:
            f.write("not ours\n")
        os.symlink("/bin/true", self.target("setuidgid"))
        result = run([TOOLKIT, "--install", self.directory])
        self.assertExit(result, FAILURE)
        errors = sorted(result.stderr.splitlines())
        self.assertEqual(errors, sorted(
            f"toolkit: ERROR: {self.target(n)}: exists and is not a link to toolkit; left alone"
            for n in foreign))
        with open(self.target("fdmove")) as f:
            self.assertEqual(f.read(), "not ours\n")
        self.assertEqual(os.readlink(self.target("setuidgid")), "/bin/true")
        # The others were still made, and reported.
        for name in expected_applets():
            if name not in foreign:
                self.assertIn(f"toolkit: linked {self.target(name)}\n", result.stdout)
                self.assertEqual(os.stat(self.target(name)).st_ino, self.binary.st_ino)
        self.assertEqual(len(result.stdout.splitlines()), len(expected_applets()) - len(foreign))

    def test_dangling_symlink_is_left_alone(self):
        os.symlink(os.path.join(self.directory, "nowhere"), self.target("fdmove"))
        result = run([TOOLKIT, "--install", "-s", self.directory])
        self.assertExit(result, FAILURE)
        self.assertIn(f"toolkit: ERROR: {self.target('fdmove')}: exists and is not a link to toolkit", result.stderr)
        self.assertEqual(os.readlink(self.target("fdmove")), os.path.join(self.directory, "nowhere"))
        self.assertFalse(os.path.exists(os.path.join(self.directory, "nowhere")))

    def test_a_missing_directory_is_one_fatal_line_and_nothing_done(self):
        missing = self.target("no-such-dir")
        for args in (["--install", missing], ["--install", "-s", missing]):
            with self.subTest(args=args):
                result = run([TOOLKIT] + args)
                self.assertExit(result, FAILURE)
                self.assertEqual(result.stderr, f"toolkit: FATAL: {missing}: No such file or directory\n")
                self.assertEqual(result.stdout, "")
                self.assertFalse(os.path.exists(missing))

    def test_a_file_is_not_a_directory(self):
        plain = self.target("plain")
        with open(plain, "w") as f:
            f.write("not a directory\n")
        result = run([TOOLKIT, "--install", "-s", plain])
        self.assertExit(result, FAILURE)
        self.assertEqual(result.stderr, f"toolkit: FATAL: {plain}: Not a directory\n")
        self.assertEqual(result.stdout, "")
        self.assertEqual(os.listdir(self.directory), ["plain"])

    def test_symbolic_links_through_a_link_to_the_binary_directory_are_relative(self):
        # "Beside the binary" is the same directory, however it is named.
        copy = os.path.join(self.directory, "toolkit")
        shutil.copy2(TOOLKIT, copy)
        alias = self.directory + "-alias"
        os.symlink(self.directory, alias)
        self.addCleanup(os.remove, alias)
        result = run([copy, "--install", "-s", alias])
        self.assertExit(result, 0)
        self.assertEqual(os.readlink(self.target("fdmove")), "toolkit")

    def test_install_operands(self):
        for args in (["--install"], ["--install", "-s"], ["--install", self.directory, "extra"],
                     ["--install", "-s", self.directory, "extra"]):
            with self.subTest(args=args):
                result = run([TOOLKIT] + args)
                self.assertFatal(result, "toolkit", USAGE, "--install")
                self.assertEqual(result.stdout, "")
        self.assertEqual(os.listdir(self.directory), [])


class ProcessName(ToolkitTestCase):
    """The kernel's name for the process (comm) follows the link that runs.

    After the final execve the kernel names the process after the new program,
    so the name has to be caught while a link is still running. We let a
    link fail at run time and read /proc/PID/comm of the zombie before
    reaping it: it is the name the process had when it ended."""

    def comm_at_exit(self, argv, *, drop_privileges=False):
        def as_nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)

        preexec = as_nobody if drop_privileges and os.geteuid() == 0 else None
        if preexec and argv[0] == TOOLKIT:
            argv = [public_toolkit()] + argv[1:]  # nobody may not reach the build tree
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=preexec) as process:
            # Not communicate(): it would reap the process. The outputs are a line at most.
            stdout, stderr = process.stdout.read(), process.stderr.read()
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            with open(f"/proc/{process.pid}/comm") as f:
                comm = f.read().rstrip("\n")
            status = process.wait()
        return comm, status, stdout, stderr

    def test_name_follows_the_second_link(self):
        # fdmove runs, then setuidgid fails in setgroups (no privilege).
        comm, status, stdout, stderr = self.comm_at_exit(
            [TOOLKIT, "fdmove", "1", "1", "setuidgid", "0:0", "true"], drop_privileges=True)
        self.assertEqual(status, FAILURE, stderr)
        self.assertEqual(stderr, "setuidgid: FATAL: setgroups: Operation not permitted\n")
        self.assertEqual(comm, "setuidgid")

    def test_name_follows_the_first_link(self):
        # Started as "toolkit"; the first link fails at run time (fd 9 is closed).
        comm, status, stdout, stderr = self.comm_at_exit([TOOLKIT, "fdmove", "7", "9", "true"])
        self.assertEqual(status, FAILURE, stderr)
        self.assertEqual(comm, "fdmove")

    def test_name_of_a_later_fdmove_after_setuidgid(self):
        if os.geteuid() != 0:
            self.skipTest("needs root so that setuidgid succeeds")
        comm, status, stdout, stderr = self.comm_at_exit(
            [TOOLKIT, "setuidgid", "nobody", "fdmove", "7", "9", "true"])
        self.assertEqual(status, FAILURE, stderr)
        self.assertEqual(stderr, "fdmove: FATAL: descriptor 9: Bad file descriptor\n")
        self.assertEqual(comm, "fdmove")

    def test_final_program_has_its_own_name(self):
        result = run([TOOLKIT, "fdmove", "1", "1", "fdmove", "2", "2", "cat", "/proc/self/comm"])
        self.assertClean(result, "cat\n")


class Image(ToolkitTestCase):
    STANDARD_STREAMS = {"std::cin", "std::cout", "std::cerr", "std::clog",
                        "std::wcin", "std::wcout", "std::wcerr", "std::wclog"}

    def test_no_standard_stream_object_is_linked(self):
        # The start-up of the standard streams is left out (source/standard_streams.cpp),
        # so a stream object in the binary would be one nobody constructs.
        result = subprocess.run(["nm", "-C", "--defined-only", TOOLKIT], capture_output=True, text=True)
        if result.returncode != 0 or not result.stdout:
            self.skipTest("the binary has no symbol table: " + result.stderr.strip())
        names = {line.split(" ", 2)[2] for line in result.stdout.splitlines() if line.count(" ") >= 2}
        self.assertIn("main", names)  # the symbol table is really there
        self.assertEqual(names & self.STANDARD_STREAMS, set())

    def test_only_the_c_library_is_loaded_at_run_time(self):
        # Every shared library costs every chain link its loading; the C++
        # runtime and Boost are linked in, and nothing else may creep in (libm
        # once did, through a hash table's growth policy).
        readelf = which("readelf")
        result = subprocess.run([readelf, "-d", TOOLKIT], capture_output=True, text=True, check=True)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", result.stdout)
        if os.environ.get("TOOLKIT_SANITIZED") == "1":  # their run-time libraries come with them
            needed = [n for n in needed if not re.match(r"lib(a|ub|l|t)san\.so", n)]
        if os.environ.get("TOOLKIT_STATIC") == "1":
            self.assertEqual(needed, [])
        else:
            self.assertEqual(sorted(n for n in needed if not n.startswith("ld-linux")), ["libc.so.6"])


if __name__ == "__main__":
    main()
