"""End-to-end tests of chdir: the next program's working directory, relative
programs and PATH entries resolved in the new directory (while planning, and
again after the change), and the failures."""

import os

from harness import CANNOT_RUN, FAILURE, NOT_FOUND, USAGE, applet_link, main, run
from process_state import StateTestCase, as_nobody, needs_root, state


class Directory(StateTestCase):
    def test_changes_the_working_directory(self):
        self.case("chdir", [self.directory] + state("cwd"), stdout=f"cwd {self.directory}\n")

    def test_relative_directories_add_up(self):
        os.makedirs(self.path("a", "b"))
        self.case("chdir", [self.directory, "chdir", "a", "chdir", "b"] + state("cwd"),
                  stdout=f"cwd {self.path('a', 'b')}\n")

    def test_relative_program_is_found_in_the_new_directory(self):
        self.script("tools/hello", "#!/bin/sh\necho hello from $(pwd)\n")
        self.case("chdir", [self.directory, "tools/hello"], stdout=f"hello from {self.directory}\n")
        self.case("chdir", [self.path("tools"), "./hello"], stdout=f"hello from {self.path('tools')}\n")

    def test_relative_path_entry_is_searched_in_the_new_directory(self):
        self.script("bin/only-relative", "#!/bin/sh\necho found\n")
        env = dict(os.environ, PATH="bin:/usr/bin:/bin")
        self.case("chdir", [self.directory, "only-relative"], env=env, stdout="found\n")

    def test_relative_program_missing_in_the_new_directory_is_127_before_anything(self):
        self.script("here-only", "#!/bin/sh\necho ran\n")
        os.mkdir(self.path("elsewhere"))
        self.case("chdir", [self.path("elsewhere"), "./here-only"], status=NOT_FOUND,
                  fatal="./here-only: not found", cwd=self.directory)
        self.assertStopsBeforeListen(["chdir", self.path("elsewhere"), "./here-only"], NOT_FOUND,
                                     "./here-only", cwd=self.directory)

    def test_not_executable_in_the_new_directory_is_126(self):
        self.write("plain", "#!/bin/sh\n", 0o644)
        self.case("chdir", [self.directory, "./plain"], status=CANNOT_RUN, fatal="./plain")


class Failures(StateTestCase):
    def test_missing_directory_stops_the_chain(self):
        missing = self.path("missing")
        self.case("chdir", [missing, "true"], status=FAILURE, fatal=(missing, "No such file or directory"))
        self.assertStopsBeforeListen(["chdir", missing, "true"], FAILURE, missing)

    def test_not_a_directory(self):
        plain = self.write("plain", "")
        self.case("chdir", [plain, "true"], status=FAILURE, fatal=(plain, "Not a directory"))

    def test_unsearchable_directory_stops_the_plan(self):
        # Opened for the plan without search permission, but chdir(2) needs it:
        # refused while planning, before an earlier link acts.
        private = self.path("unsearchable")
        os.mkdir(private, 0o600)
        preexec = as_nobody if os.geteuid() == 0 else None
        result = run([self.public_link("chdir"), private, "true"], preexec_fn=preexec)
        self.assertFatal(result, "chdir", FAILURE, private, "Permission denied")
        self.assertStopsBeforeListen(["chdir", private, "true"], FAILURE, private, "Permission denied",
                                     public=True, preexec_fn=preexec)

    @needs_root
    def test_refused_when_it_runs(self):
        # Planned as root, changed into as nobody: refused then, and nothing runs.
        private = self.path("private")
        os.mkdir(private, 0o700)
        marker = self.path("ran")
        result = run([applet_link("setuidgid"), "nobody", "chdir", private, "touch", marker])
        self.assertFatal(result, "chdir", FAILURE, private, "Permission denied")
        self.assertFalse(os.path.exists(marker))

    def test_usage(self):
        self.case("chdir", [], status=USAGE, fatal="DIR: missing operand")
        self.case("chdir", ["", "true"], status=USAGE, fatal="DIR: empty path")
        self.case("chdir", ["/"], status=USAGE, fatal="missing next program")
        self.case("chdir", ["-P", "/", "true"], status=USAGE, fatal="unknown option")


if __name__ == "__main__":
    main()
