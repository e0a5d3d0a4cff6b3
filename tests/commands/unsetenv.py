"""End-to-end tests of unsetenv: the variable is gone for the next program
(every copy of it), others keep their order, and an unset PATH means the
default search path."""

import os
import subprocess

from harness import NOT_FOUND, USAGE, applet_link, main
from process_state import StateTestCase

BASE = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "A": "1", "B": "2"}


class Unsetting(StateTestCase):
    def test_removes_the_variable(self):
        self.case("unsetenv", ["A", "env", "-0"], env=BASE, stdout=f"PATH={BASE['PATH']}\0B=2\0")

    def test_unset_variable_is_not_an_error(self):
        self.case("unsetenv", ["NOT_THERE", "env", "-0"], env=BASE,
                  stdout=f"PATH={BASE['PATH']}\0A=1\0B=2\0")

    def test_every_copy_goes(self):
        # An environment holding A twice, as execve allows.
        code = ("import ctypes, sys\n"
                "words = lambda items: (ctypes.c_char_p * (len(items) + 1))(*items, None)\n"
                "argv = [a.encode() for a in sys.argv[1:]]\n"
                "env = [b'A=1', b'B=2', b'A=again', b'PATH=/usr/bin:/bin']\n"
                "ctypes.CDLL(None).execve(argv[0], words(argv), words(env))")
        result = subprocess.run(["python3", "-c", code, applet_link("unsetenv"), "A", "env", "-0"],
                                capture_output=True, text=True, timeout=20)
        self.assertEqual((result.returncode, result.stdout), (0, "B=2\0PATH=/usr/bin:/bin\0"))

    def test_unset_path_uses_the_default(self):
        self.script("only-here", "#!/bin/sh\necho ran\n")
        self.case("unsetenv", ["PATH", "env"], env=BASE, stdout="A=1\nB=2\n")
        self.case("unsetenv", ["PATH", "only-here"], env=dict(BASE, PATH=self.directory),
                  status=NOT_FOUND, fatal="only-here: not found in PATH")

    def test_bad_names(self):
        for name in ("", "A=B"):
            with self.subTest(name=name):
                self.case("unsetenv", [name, "true"], status=USAGE, fatal="VAR: not a variable name")

    def test_usage(self):
        self.case("unsetenv", [], status=USAGE, fatal="VAR: missing operand")
        self.case("unsetenv", ["A"], status=USAGE, fatal="missing next program")
        self.assertStopsBeforeListen(["unsetenv", "", "true"], USAGE, "VAR")


if __name__ == "__main__":
    main()
