#!/usr/bin/env python3
"""The generated bash completion, exercised the way bash calls it.

Sources the completion script built in TOOLKIT_BUILD_DIR into a fresh bash,
sets COMP_WORDS/COMP_CWORD, calls _toolkit and compares COMPREPLY.
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

TOOLKIT = os.path.abspath(os.environ["TOOLKIT"])
SCRIPT = os.path.join(os.path.abspath(os.environ["TOOLKIT_BUILD_DIR"]), "packaging", "toolkit")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def complete(words, preload=None):
    """COMPREPLY for the command line WORDS, the last word being completed."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = ""
    if preload:
        program += f". {preload} >/dev/null 2>&1\n"
    # Load the script inside a function, as bash-completion's loader does.
    program += (f"load() {{ . '{SCRIPT}'; }}; load\n"
                f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
                f"COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}\n"
                "_toolkit\n"
                "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd="/",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=30, check=False)
    if done.returncode != 0 or done.stderr:
        raise AssertionError(f"bash failed ({done.returncode}): {done.stderr}")
    return [line for line in done.stdout.splitlines() if line]


def help_options(applet):
    text = subprocess.run([TOOLKIT, applet, "--help"], stdout=subprocess.PIPE,
                          text=True, timeout=30, check=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[ ,\n])",
                          text.split("Options:", 1)[1]))


def applets():
    return subprocess.run([TOOLKIT, "--list"], stdout=subprocess.PIPE, text=True,
                          timeout=30, check=True).stdout.split()


class Completion(unittest.TestCase):
    def test_script_exists_and_parses(self):
        self.assertTrue(os.path.isfile(SCRIPT), SCRIPT)
        subprocess.run(["bash", "-n", SCRIPT], check=True, timeout=30)

    def test_multiplexer_offers_applets_and_its_options(self):
        self.assertEqual(sorted(complete(["toolkit", ""])),
                         sorted(applets() + ["--list", "--help", "--version", "--install"]))
        self.assertEqual(complete(["toolkit", "fd"]), ["fdmove"])
        self.assertEqual(complete(["toolkit", "--ins"]), ["--install"])

    def test_every_help_option_is_offered_for_every_applet(self):
        for applet in applets():
            with self.subTest(applet=applet):
                offered = set(complete([applet, "-"]))
                self.assertEqual(offered, help_options(applet) | {"--help", "--usage"})
                self.assertEqual(set(complete(["toolkit", applet, "-"])), offered)

    def test_options_by_prefix(self):
        self.assertEqual(complete(["setuidgid", "--pri"]), ["--primary-group"])
        self.assertEqual(complete(["/usr/bin/fdmove", "--c"]), ["--copy"])

    def test_option_values(self):
        self.assertIn("root", complete(["setuidgid", "--primary-group", "roo"]))
        self.assertIn("root", complete(["setuidgid", "-g", "roo"]))
        self.assertIn("root", complete(["setuidgid", "-sg", "roo"]))
        self.assertIn("root", complete(["setuidgid", "--primary-group", "=", "roo"]))
        self.assertEqual(complete(["setuidgid", "--primary-group", "daemon", "roo"]), ["root"])

    def test_account_options_of_every_applet_offer_names(self):
        for applet in applets():
            text = subprocess.run([TOOLKIT, applet, "--help"], stdout=subprocess.PIPE, text=True,
                                  timeout=30, check=True).stdout
            for long_name in re.findall(r"(?m)^  (?:-., )?(--[a-z-]*(?:user|group)) [A-Z]+", text):
                with self.subTest(applet=applet, option=long_name):
                    self.assertIn("root", complete([applet, long_name, "roo"]))

    def test_operands(self):
        self.assertEqual(complete(["setuidgid", "roo"]), ["root"])
        self.assertEqual(complete(["fdmove", "-c", "1", "roo"]), [])

    def test_next_program_is_an_applet_or_a_command(self):
        after_account = complete(["setuidgid", "-s", "root", "fd"])
        self.assertIn("fdmove", after_account)
        self.assertEqual(set(complete(["fdmove", "1", "2", "setuidgid", "-"])),
                         help_options("setuidgid") | {"--help", "--usage"})
        self.assertEqual(complete(["toolkit", "setuidgid", "root", "fdmove", "-c", "1", "2",
                                   "setuidgid", "--su"]), ["--supplementary"])
        # options after the next program belong to it, not to us
        self.assertNotIn("--copy", complete(["fdmove", "1", "2", "true", "--c"]))

    @unittest.skipUnless(os.path.isfile(BASH_COMPLETION), "bash-completion is not installed")
    def test_other_programs_are_handed_to_bash_completion(self):
        # toolkit is not an applet name: _command_offset completes it as a command of its own.
        self.assertEqual(complete(["setuidgid", "root", "toolkit", "fd"], preload=BASH_COMPLETION),
                         ["fdmove"])


if __name__ == "__main__":
    if shutil.which("bash") is None:
        sys.exit(77)
    unittest.main(verbosity=2)
