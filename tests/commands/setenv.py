"""End-to-end tests of setenv: the variable the next program gets, its place
in the environment, and that a PATH it sets decides the final search."""

import os

from harness import NOT_FOUND, USAGE, main
from process_state import StateTestCase

BASE = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "A": "1", "B": "2"}


class Setting(StateTestCase):
    def test_new_variable_goes_last(self):
        self.case("setenv", ["C", "3", "env", "-0"], env=BASE,
                  stdout=f"PATH={BASE['PATH']}\0A=1\0B=2\0C=3\0")

    def test_existing_variable_keeps_its_place(self):
        self.case("setenv", ["A", "new value", "env", "-0"], env=BASE,
                  stdout=f"PATH={BASE['PATH']}\0A=new value\0B=2\0")

    def test_empty_value_and_odd_characters(self):
        self.case("setenv", ["E", "", "setenv", "F", "x=y\nz", "env", "-0"], env=BASE,
                  stdout=f"PATH={BASE['PATH']}\0A=1\0B=2\0E=\0F=x=y\nz\0")

    def test_path_decides_the_search(self):
        self.script("bin/only-here", "#!/bin/sh\necho found\n")
        self.case("setenv", ["PATH", self.path("bin"), "only-here"], env=BASE, stdout="found\n")
        self.case("setenv", ["PATH", "/nonexistent", "true"], env=BASE, status=NOT_FOUND,
                  fatal="true: not found in PATH")
        self.assertStopsBeforeListen(["setenv", "PATH", "/nonexistent", "true"], NOT_FOUND, "true",
                                     env=BASE)

    def test_bad_names(self):
        for name in ("", "A=B", "="):
            with self.subTest(name=name):
                self.case("setenv", [name, "v", "true"], status=USAGE, fatal="VAR: not a variable name")

    def test_usage(self):
        self.case("setenv", [], status=USAGE, fatal="VAR: missing operand")
        self.case("setenv", ["A"], status=USAGE, fatal="VALUE: missing operand")
        self.case("setenv", ["A", "1"], status=USAGE, fatal="missing next program")
        self.assertStopsBeforeListen(["setenv", "A=B", "v", "true"], USAGE, "VAR")


if __name__ == "__main__":
    main()
