"""End-to-end tests of umask: the mask the next program gets and the files it
makes; C numbers, the warning for a decimal mask, and the range."""

import os
import stat

from harness import USAGE, main
from process_state import StateTestCase, state


class Mask(StateTestCase):
    def test_sets_the_mask(self):
        for text, mask in (("027", "0027"), ("0", "0000"), ("0777", "0777"), ("0x12", "0022"), ("7", "0007")):
            with self.subTest(mask=text):
                self.case("umask", [text] + state("umask"), stdout=f"umask {mask}\n")

    def test_files_made_by_the_program(self):
        made = self.path("made")
        self.case("umask", ["077", "touch", made])
        self.assertEqual(stat.S_IMODE(os.stat(made).st_mode), 0o600)

    def test_decimal_mask_warns(self):
        self.case("umask", ["22"] + state("umask"), stdout="umask 0026\n",
                  stderr="umask: WARNING: MASK: 22 is decimal; write 022 if octal was meant\n")
        # No hint that could not be followed: 018 is no number.
        self.case("umask", ["18"] + state("umask"), stdout="umask 0022\n",
                  stderr="umask: WARNING: MASK: 18 is decimal\n")

    def test_in_a_chain(self):
        self.case("umask", ["077", "umask", "022"] + state("umask"), stdout="umask 0022\n")

    def test_out_of_range_and_garbage(self):
        for text in ("01000", "0x200", "512", "", "x", "-1", "0o22", "08"):
            with self.subTest(mask=text):
                self.case("umask", ["--", text, "true"] if text.startswith("-") else [text, "true"],
                          status=USAGE, fatal="MASK")

    def test_usage(self):
        self.case("umask", [], status=USAGE, fatal="MASK: missing operand")
        self.case("umask", ["022"], status=USAGE, fatal="missing next program")
        self.assertStopsBeforeListen(["umask", "0999", "true"], USAGE, "MASK")


if __name__ == "__main__":
    main()
