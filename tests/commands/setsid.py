"""End-to-end tests of setsid: the next program leads a new session (as with
s6-setsid and util-linux setsid), and a process group leader gets a clear
FATAL line instead of a silent fork."""

import os
import signal
import socket
import subprocess

from harness import FAILURE, USAGE, applet_link, children, forms, main, run, wait_for
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


# Run per connection: whether it leads a session and a group, and its pid.
HANDLER = ["python3", "-c", "import os; print(os.getsid(0) == os.getpid(), os.getpgrp() == os.getpid(), "
           "os.getpid(), flush=True)"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AfterAnAcceptLink(StateTestCase):
    """A supervisor starts a server as the leader of its session (and group);
    setsid after the accept link runs in the child of each connection."""

    def serve(self, chain):
        server = subprocess.Popen(chain, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        self.addCleanup(server.stderr.close)
        self.addCleanup(server.wait, 20)
        self.addCleanup(lambda: server.poll() is None and os.killpg(server.pid, signal.SIGKILL))
        return server

    def reply(self, server, family, address):
        """What the handler of one connection said, once the server accepts."""
        def connected():
            if server.poll() is not None:
                self.fail(f"the server stopped, status {server.returncode}: {server.stderr.read()!r}")
            client = socket.socket(family, socket.SOCK_STREAM)
            try:
                client.settimeout(10)
                client.connect(address)
                return client
            except OSError:
                client.close()
                return None
        with wait_for(connected, "the server to accept") as client, client.makefile() as replies:
            return replies.readline().split()

    def check(self, server, family, address):
        leads_session, leads_group, pid = self.reply(server, family, address)
        self.assertEqual((leads_session, leads_group), ("True", "True"))
        self.assertNotEqual(int(pid), server.pid)

    def test_each_local_connection_leads_a_new_session(self):
        for label, prefix in forms("local-stream-socket-listen"):
            with self.subTest(form=label):
                sock = self.path(f"{label}.sock")
                server = self.serve(prefix + [sock, "local-stream-socket-accept", "setsid"] + HANDLER)
                self.check(server, socket.AF_UNIX, sock)

    def test_each_tcp_connection_leads_a_new_session(self):
        port = free_port()
        server = self.serve([applet_link("tcp-socket-listen"), "127.0.0.1", str(port),
                             "tcp-socket-accept", "setsid"] + HANDLER)
        self.check(server, socket.AF_INET, ("127.0.0.1", port))


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

    def test_a_session_leader_without_an_accept_link_is_refused(self):
        self.assertStopsBeforeListen(["setsid", "true"], FAILURE, "already a process group leader",
                                     start_new_session=True)

    def test_second_setsid_in_a_chain(self):
        # The first link will make the process a leader: refused while planning.
        self.case("setsid", ["setsid", "true"], status=FAILURE, fatal=self.MESSAGE)
        self.assertStopsBeforeListen(["setsid", "setsid", "true"], FAILURE, "already a process group leader")

    def test_usage(self):
        self.case("setsid", [], status=USAGE, fatal="missing next program")
        self.case("setsid", ["-f", "true"], status=USAGE, fatal="unknown option")


if __name__ == "__main__":
    main()
