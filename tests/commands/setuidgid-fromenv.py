"""End-to-end tests of setuidgid-fromenv (as root): the identity the next
program gets from UID, GID and GIDLIST, after envuidgid in the same chain and
compared with s6-applyuidgid -U; unset and bad variables are FATAL naming
the variable, found while planning when they can be."""

import os
import unittest

from harness import FAILURE, USAGE, main, run, applet_link
from process_state import IS_ROOT, StateTestCase, as_nobody, peer, state

APPLET = "setuidgid-fromenv"


def with_ids(uid=None, gid=None, gidlist=None):
    env = {key: value for key, value in os.environ.items() if key not in ("UID", "GID", "GIDLIST")}
    for key, value in (("UID", uid), ("GID", gid), ("GIDLIST", gidlist)):
        if value is not None:
            env[key] = value
    return env


@unittest.skipUnless(IS_ROOT, "changing identity needs root")
class Becoming(StateTestCase):
    def test_uid_and_gid_alone(self):
        self.case(APPLET, state("ids"), env=with_ids("1234", "5678"),
                  stdout="Uid: 1234 1234 1234 1234\nGid: 5678 5678 5678 5678\nGroups: 5678\n")

    def test_gidlist_is_the_whole_group_list(self):
        self.case(APPLET, state("ids"), env=with_ids("1234", "5678", "5678,20,30"),
                  stdout="Uid: 1234 1234 1234 1234\nGid: 5678 5678 5678 5678\nGroups: 20 30 5678\n")
        self.case(APPLET, state("ids"), env=with_ids("1234", "5678", ""),
                  stdout="Uid: 1234 1234 1234 1234\nGid: 5678 5678 5678 5678\nGroups:\n")

    def test_after_envuidgid_in_the_same_chain(self):
        direct = run([applet_link("setuidgid"), "-s", "daemon"] + state("ids"))
        self.case("envuidgid", ["-s", "daemon", APPLET] + state("ids"), stdout=direct.stdout)
        direct = run([applet_link("setuidgid"), "nobody"] + state("ids"))
        self.case("envuidgid", ["nobody", APPLET] + state("ids"), stdout=direct.stdout)

    def test_same_as_s6_applyuidgid(self):
        env = with_ids("1234", "5678", "5678,20")
        ours = run([applet_link(APPLET)] + state("ids"), env=env)
        theirs = run([peer("s6-applyuidgid"), "-U"] + state("ids"), env=env)
        self.assertEqual((ours.returncode, ours.stdout), (0, theirs.stdout))

    def test_environment_is_left_alone(self):
        env = with_ids("1234", "5678")
        self.case(APPLET, state("env"), env=env, stdout=run(state("env"), env=env).stdout)

    def test_refused_change_is_111(self):
        marker = self.path("ran")
        result = run([self.public_link(APPLET), "touch", marker], env=with_ids("0", "0"), preexec_fn=as_nobody)
        self.assertFatal(result, APPLET, FAILURE, "setgroups", "Operation not permitted")
        self.assertFalse(os.path.exists(marker))


class BadVariables(StateTestCase):
    def test_unset(self):
        self.case(APPLET, ["true"], env=with_ids(gid="1"), status=FAILURE, fatal="UID: not set")
        self.case(APPLET, ["true"], env=with_ids(uid="1"), status=FAILURE, fatal="GID: not set")

    def test_garbage(self):
        for uid in ("", "x", "-1", "1 ", "0x10", "4294967295", "99999999999", "1,2"):
            with self.subTest(uid=uid):
                self.case(APPLET, ["true"], env=with_ids(uid, "1"), status=FAILURE,
                          fatal=f'UID: not a uid or gid: "{uid}"')
        self.case(APPLET, ["true"], env=with_ids("1", "abc"), status=FAILURE, fatal="GID: not a uid or gid")
        for gidlist in ("1,,2", "1,", ",1", "1;2", "a"):
            with self.subTest(gidlist=gidlist):
                self.case(APPLET, ["true"], env=with_ids("1", "1", gidlist), status=FAILURE,
                          fatal="GIDLIST: not a uid or gid")

    def test_found_while_planning(self):
        self.assertStopsBeforeListen([APPLET, "true"], FAILURE, "UID: not set", env=with_ids())
        self.assertStopsBeforeListen([APPLET, "true"], FAILURE, "GID: not a uid or gid",
                                     env=with_ids("1", "x"))

    def test_set_earlier_in_the_chain_counts_while_planning(self):
        # Bad in the inherited environment, fixed by setenv before: fine. The reverse: stopped.
        self.assertStopsBeforeListen(["setenv", "UID", "bad", APPLET, "true"], FAILURE, "UID",
                                     applet=APPLET, env=with_ids("1", "1"))
        if IS_ROOT:
            self.case("setenv", ["UID", "4321", APPLET, "sh", "-c", "id -u"], env=with_ids("bad", "1"),
                      stdout="4321\n")

    def test_usage(self):
        self.case(APPLET, [], status=USAGE, fatal="missing next program", env=with_ids("1", "1"))
        self.case(APPLET, ["-U", "true"], status=USAGE, fatal="unknown option")

    def test_process_name(self):
        result = run([applet_link(APPLET), "--help"])
        self.assertIn("Process name while it runs: setuidgid-env", result.stdout)
        if IS_ROOT:
            self.case(APPLET, ["cat", "/proc/self/comm"], env=with_ids("0", "0"), stdout="cat\n")


if __name__ == "__main__":
    main()
