"""Checks of the manual pages: one per applet in commands/list plus toolkit(1).
Every long option that --help prints is described in OPTIONS; the page has
the sections every page needs, in order; EXIT STATUS names every status; and
the roff is clean for mandoc and groff."""

import os
import re
import shutil
import subprocess
import sys
import unittest

TOOLKIT = os.path.abspath(os.environ.get("TOOLKIT", "build/toolkit"))
SOURCE_DIR = os.environ.get("TOOLKIT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANPAGES = os.path.join(SOURCE_DIR, "manpages")

REQUIRED_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS",
                     "COMPATIBILITY", "EXAMPLES", "SEE ALSO"]
# Where the program changes who may do what, or answers whoever connects, the page has
# to say what it guards against.
NEEDS_SECURITY = {"setuidgid", "setuidgid-fromenv", "chroot", "setlock", "local-stream-socket-listen",
                  "local-seqpacket-socket-listen", "local-datagram-socket-listen", "local-stream-socket-accept",
                  "tcp-socket-listen", "tcp-socket-accept", "udp-socket-listen", "ucspi-socket-rules-check"}
EXIT_STATUSES = ["0", "100", "111", "126", "127"]


def registry():
    names = []
    with open(os.path.join(SOURCE_DIR, "commands", "list")) as f:
        for line in f:
            name = line.strip()
            if name and not name.startswith("#"):
                names.append(name)
    return names


def plain(roff):
    """Roff source with fonts and escapes reduced to the characters a reader sees."""
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", roff)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\ ", " ")
    text = re.sub(r"\\\((em|en|aq|dq|lq|rq|oq|cq|bu)", " ", text)
    return text


def sections(roff):
    """[(title, body)] in the order of the .SH requests."""
    found = []
    for line in roff.splitlines():
        match = re.match(r'^\.SH\s+(.*)$', line)
        if match:
            found.append([match.group(1).strip().strip('"'), []])
        elif found:
            found[-1][1].append(line)
    return [(title, "\n".join(body)) for title, body in found]


def help_text(applet):
    argv = [TOOLKIT, "--help"] if applet == "toolkit" else [TOOLKIT, applet, "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr}")
    return result.stdout


class PageChecks:
    applet = None

    def setUp(self):
        self.path = os.path.join(MANPAGES, self.applet + ".1")
        with open(self.path) as f:
            self.roff = f.read()
        self.help = help_text(self.applet)
        if "Not implemented yet." in self.help:
            self.skipTest(f"{self.applet} is not implemented yet; its page is checked once it is")
        self.sections = sections(self.roff)
        self.titles = [title for title, _ in self.sections]

    def section(self, title):
        for name, body in self.sections:
            if name == title:
                return plain(body)
        self.fail(f"{self.path}: no {title} section")

    def test_title_line(self):
        self.assertRegex(self.roff, r'(?m)^\.TH\s+"?' + re.escape(self.applet.upper()) + r'"?\s+"?1"?\b')

    def test_required_sections_in_order(self):
        wanted = list(REQUIRED_SECTIONS)
        if self.applet in NEEDS_SECURITY:
            wanted.insert(wanted.index("COMPATIBILITY"), "SECURITY")
        present = [title for title in self.titles if title in wanted]
        self.assertEqual(present, wanted, f"{self.path}: sections are {self.titles}")

    def test_name_line(self):
        name = self.section("NAME").strip()
        self.assertRegex(name, r"^" + re.escape(self.applet) + r" - \S")

    def test_synopsis_names_the_program(self):
        self.assertIn(self.applet, self.section("SYNOPSIS"))

    def test_every_long_option_is_described(self):
        options = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", self.help)))
        self.assertTrue(options, f"no long option in the --help of {self.applet}")
        described = self.section("OPTIONS")
        for option in options:
            with self.subTest(option=option):
                self.assertRegex(described, r"(?<![\w-])" + re.escape(option) + r"(?![\w-])",
                                 f"{option} is in --help but not in the OPTIONS of {self.path}")

    def test_process_name(self):
        # --help says what the process list shows; the page must say the same.
        if self.applet == "toolkit":
            self.skipTest("the multiplexer runs no applet of its own")
        match = re.search(r"^Process name while it runs: (\S+)$", self.help, re.M)
        self.assertIsNotNone(match, f"the --help of {self.applet} does not give its process name")
        self.assertRegex(plain(self.roff), r"(?s)process name\b.{0,80}?(?<![\w-])" + re.escape(match.group(1)) + r"(?![\w-])",
                         f"{self.path} does not say that its process name is {match.group(1)}")

    def test_exit_statuses(self):
        text = self.section("EXIT STATUS")
        for status in EXIT_STATUSES:
            with self.subTest(status=status):
                self.assertRegex(text, r"(?<![\d.])" + status + r"(?![\d.])")

    def test_examples_are_whole_chains(self):
        # At least one example runs something after the applet.
        examples = self.section("EXAMPLES")
        self.assertRegex(examples, re.escape(self.applet) + r"\b.*\S")

    def test_mandoc_lint(self):
        mandoc = shutil.which("mandoc")
        if mandoc is None:
            self.skipTest("mandoc is not installed")
        result = subprocess.run([mandoc, "-T", "lint", "-W", "all", self.path], capture_output=True,
                                text=True, timeout=20)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))

    def test_groff_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff is not installed")
        # As man(1) lays it out on an 80-column terminal: a table wider than that warns.
        result = subprocess.run([groff, "-man", "-ww", "-z", "-t", "-Tutf8", "-rLL=78n", self.path],
                                capture_output=True, text=True, timeout=20)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))


class ToolkitPage(PageChecks, unittest.TestCase):
    applet = "toolkit"

    def test_names_every_applet(self):
        text = plain(self.roff)
        for applet in registry():
            with self.subTest(applet=applet):
                self.assertRegex(text, re.escape(applet) + r"\s*\(1\)")


class Registry(unittest.TestCase):
    def test_every_applet_has_a_page_and_no_page_is_stray(self):
        pages = sorted(name[:-2] for name in os.listdir(MANPAGES) if name.endswith(".1"))
        self.assertEqual(pages, sorted(registry() + ["toolkit"]))


for _applet in registry():
    _name = "Page_" + re.sub(r"\W", "_", _applet)
    globals()[_name] = type(_name, (PageChecks, unittest.TestCase), {"applet": _applet})

if __name__ == "__main__":
    if not (shutil.which("mandoc") or shutil.which("groff")):
        sys.stderr.write("manpages: neither mandoc nor groff is installed; roff is not linted\n")
    unittest.main(verbosity=2)
