"""packaging/tcprules-to-rules: tcprules text in, a rules file out that
ucspi-socket-rules-check reads and that decides as tcpserver would."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commands"))
from harness import applet_link, run  # noqa: E402

SOURCE_DIR = os.environ.get("TOOLKIT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONVERTER = os.path.join(SOURCE_DIR, "packaging", "tcprules-to-rules")

# Written least specific first on purpose: tcpserver picks the most specific anyway.
TCPRULES = """# a comment
  # an indented comment
:deny
10.:allow,LIMIT="5"
10.1.:deny
10.1.2.3:allow,LIMIT="50",NOTE=/a"b/
10.9.9.1-3:allow
::1:allow,LIMIT="7"
"""

CONVERTED = """ip:10.1.2.3 allow LIMIT=50 NOTE=a"b
ip:10.9.9.1 allow
ip:10.9.9.2 allow
ip:10.9.9.3 allow
ip:::1 allow LIMIT=7
ip:10.1.0.0/16 deny
ip:10.0.0.0/8 allow LIMIT=5
* deny
"""


def convert(text):
    return subprocess.run([sys.executable, CONVERTER], input=text, capture_output=True, text=True,
                          timeout=20)


class Converter(unittest.TestCase):
    def test_the_most_specific_rule_comes_first(self):
        result = convert(TCPRULES)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertEqual(result.stdout, CONVERTED)

    def test_without_a_default_rule_others_are_let_in_as_by_tcpserver(self):
        result = convert("10.:deny\n127.0.0.1:allow,LIMIT=\"1\"\n")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertEqual(result.stdout, "ip:127.0.0.1 allow LIMIT=1\nip:10.0.0.0/8 deny\n* allow\n")
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as rules:
            rules.write(result.stdout)
            rules.flush()
            for address, status in [("192.0.2.1", "let in"), ("10.2.3.4", "")]:
                with self.subTest(address=address):
                    env = dict(os.environ, PROTO="TCP", TCPREMOTEIP=address)
                    got = run([applet_link("ucspi-socket-rules-check"), "-q", "--rules", rules.name,
                               "echo", "let in"], env=env)
                    self.assertEqual((got.returncode, got.stdout.strip(), got.stderr), (0, status, ""))

    def test_the_output_decides_as_tcpserver_would(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as rules:
            rules.write(convert(TCPRULES).stdout)
            rules.flush()
            for address, expected in [("10.1.2.3", "50\n"), ("10.1.2.4", ""), ("10.2.0.1", "5\n"),
                                      ("10.9.9.2", "\n"), ("192.0.2.1", ""), ("::1", "7\n"),
                                      ("::ffff:10.1.2.3", "50\n")]:
                with self.subTest(address=address):
                    env = dict(os.environ, PROTO="TCP", TCPREMOTEIP=address)
                    result = run([applet_link("ucspi-socket-rules-check"), "-q", "--rules", rules.name,
                                  "sh", "-c", 'echo "$LIMIT"'], env=env)
                    self.assertEqual((result.returncode, result.stdout, result.stderr), (0, expected, ""))

    def test_what_has_no_equivalent_is_refused(self):
        for line, message in [("=host.example:allow", "line 2: host and ident names"),
                              ("user@10.0.0.1:allow", "line 2: host and ident names"),
                              ('10.0.0.1:allow,X="a b"', "line 2: the value of X holds white space"),
                              ("10.0.0.300:allow", "line 2: not an address"),
                              ("10.0.0.1 allow", "line 2: not ADDRESS:allow or ADDRESS:deny"),
                              # Lines tcpserver never matches: converted, they would.
                              (" 10.1.2.3:allow", "line 2: starts with white space"),
                              ("010.:deny", "line 2: not an address prefix"),
                              ("\u0663.:deny", "line 2: not an address prefix"),
                              ("10.1.04-6:allow", "line 2: not an address range"),
                              ("10.1.4-6:allow", "line 2: not an address range")]:
            with self.subTest(line=line):
                result = convert("# first\n" + line + "\n")
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stdout, "")
                self.assertIn("tcprules-to-rules: " + message, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
