"""End-to-end tests of setsid: the next program leads a new session (as with
s6-setsid and util-linux setsid), and a process group leader gets a clear
FATAL line instead of a silent fork."""

import os
import subprocess

from harness import FAILURE, USAGE, applet_link, children, forms, main, run
from process_state import StateTestCase, peer, state

LEADER = "session-leader True group-leader True\n"


class NewSession(StateTestCase):
    def test_the_program_leads_a_new_session(self):
        self.case("setsid", state("session"), stdout=LEADER)
        self.assertNotEqual(run(state("session")).stdout, LEADER)

    def test_same_as_the_peers(self):
        for tool in ("s6-setsid", "setsid"):
            with self.subTest(peer=tool):
                theirs = run([peer(tool)] + state("session"))
                ours = run([applet_link("setsid")] + state("session"))
                self.assertEqual(ours.stdout, theirs.stdout)

    def test_no_controlling_terminal(self):
        probe = ["python3", "-c", "import os\ntry:\n os.open('/dev/tty', os.O_RDONLY)\n print('tty')\n"
                 "except OSError:\n print('none')"]
        self.case("setsid", probe, stdout="none\n")

    def test_same_process(self):
        # No fork: the program is the process that was started (a forked
        # child would print a pid of its own).
        for label, prefix in forms("setsid"):
            with self.subTest(form=label):
                process = subprocess.Popen(prefix + ["sh", "-c", "echo $$"], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)
                stdout, stderr = process.communicate(timeout=20)
                self.assertEqual((process.returncode, stdout, stderr), (0, f"{process.pid}\n", ""))


class GroupLeader(StateTestCase):
    MESSAGE = "setsid: FATAL: setsid: already a process group leader; start it from a process that is not"

    def test_group_leader_is_a_clear_fatal_and_never_a_fork(self):
        marker = self.path("ran")
        self.case("setsid", ["touch", marker], status=FAILURE, fatal=self.MESSAGE, preexec_fn=os.setpgrp)
        self.assertFalse(os.path.exists(marker), "the program ran (in a forked child?)")
        self.assertEqual(children(os.getpid()), [])

    def test_found_while_planning(self):
        self.assertStopsBeforeListen(["setsid", "true"], FAILURE, "already a process group leader",
                                     preexec_fn=os.setpgrp)

    def test_second_setsid_in_a_chain(self):
        # Known only when it runs: the first link made the process a leader.
        self.case("setsid", ["setsid", "true"], status=FAILURE, fatal=self.MESSAGE)

    def test_usage(self):
        self.case("setsid", [], status=USAGE, fatal="missing next program")
        self.case("setsid", ["-f", "true"], status=USAGE, fatal="unknown option")


if __name__ == "__main__":
    main()
