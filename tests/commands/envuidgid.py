"""End-to-end tests of envuidgid: UID, GID (and GIDLIST) as daemontools'
envuidgid, runit's chpst -U and s6-envuidgid set them, the identity left
alone, and an unknown account stopping the chain before it acts."""

import ast
import grp
import os
import pwd

from harness import FAILURE, STATIC, USAGE, applet_link, main, run
from process_state import StateTestCase, peer, state

PRINT = ["sh", "-c", 'echo "UID=${UID-unset} GID=${GID-unset} GIDLIST=${GIDLIST-unset}"']


def member_account():
    """An account that some group lists as a member, with its gid list as -s gives it."""
    for group in grp.getgrall():
        for name in group.gr_mem:
            try:
                account = pwd.getpwnam(name)
            except KeyError:
                continue
            groups = [account.pw_gid] + sorted({g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
                                               - {account.pw_gid})
            return account, groups
    return None, None


def split_gidlist(report):
    """GIDLIST (as numbers) and the other lines of state("env")'s REPORT."""
    lines = report.splitlines()
    found = [line for line in lines if line.startswith("env GIDLIST=")]
    if not found:
        return None, lines
    listed = ast.literal_eval(found[0].split("=", 1)[1])  # the probe writes repr()
    numbers = [int(gid) for gid in listed.split(",") if gid]
    return numbers, [line for line in lines if not line.startswith("env GIDLIST=")]


class Variables(StateTestCase):
    def test_sets_uid_and_gid(self):
        nobody = pwd.getpwnam("nobody")
        self.case("envuidgid", ["nobody"] + PRINT,
                  stdout=f"UID={nobody.pw_uid} GID={nobody.pw_gid} GIDLIST=unset\n")

    def test_same_as_daemontools_envuidgid(self):
        ours = run([applet_link("envuidgid"), "daemon"] + state("env"))
        theirs = run([peer("envuidgid"), "daemon"] + state("env"))
        self.assertEqual((ours.returncode, ours.stdout), (0, theirs.stdout))

    def test_same_as_chpst_U(self):
        ours = run([applet_link("envuidgid"), "daemon"] + state("env"))
        theirs = run([peer("chpst"), "-U", "daemon"] + state("env"))
        self.assertEqual((ours.returncode, ours.stdout), (0, theirs.stdout))

    def test_inherited_gidlist_kept_by_the_peers_removed_here(self):
        daemon = pwd.getpwnam("daemon")
        ids = f"UID={daemon.pw_uid} GID={daemon.pw_gid}"
        inherited = dict(os.environ, GIDLIST="0")
        for tool in (["envuidgid"], ["chpst", "-U"]):
            with self.subTest(peer=tool[0]):
                theirs = run([peer(tool[0])] + tool[1:] + ["daemon"] + PRINT, env=inherited)
                self.assertEqual(theirs.stdout, f"{ids} GIDLIST=0\n")
        self.case("envuidgid", ["daemon"] + PRINT, env=inherited, stdout=f"{ids} GIDLIST=unset\n")

    def test_same_as_s6_envuidgid_but_gidlist(self):
        # s6-envuidgid always sets GIDLIST, to the groups that list the
        # account as members; -s here puts the primary group first (what
        # setuidgid-fromenv joins).
        account, groups = member_account()
        names = ["daemon", "nobody"] + ([account.pw_name] if account else [])
        for name in names:
            with self.subTest(account=name):
                inherited = dict(os.environ, GIDLIST="0")
                ours = run([applet_link("envuidgid"), "-s", name] + state("env"), env=inherited)
                theirs = run([peer("s6-envuidgid"), name] + state("env"), env=inherited)
                self.assertEqual(ours.returncode, 0)
                ours_list, ours_rest = split_gidlist(ours.stdout)
                theirs_list, theirs_rest = split_gidlist(theirs.stdout)
                self.assertEqual(ours_rest, theirs_rest)
                gid = pwd.getpwnam(name).pw_gid
                self.assertEqual(ours_list[0], gid)
                self.assertEqual(sorted(set(ours_list[1:]) | {gid}), sorted(set(theirs_list) | {gid}))
                if name in ("daemon", "nobody"):  # members of no other group
                    self.assertEqual((ours_list, theirs_list), ([gid], []))

    def test_identity_is_unchanged(self):
        self.case("envuidgid", ["nobody"] + state("ids"), stdout=run(state("ids")).stdout)

    def test_supplementary_sets_gidlist(self):
        account, groups = member_account()
        if account is None:
            self.skipTest("no account is a member of a group here")
        expected = f"UID={account.pw_uid} GID={account.pw_gid} GIDLIST={','.join(map(str, groups))}\n"
        for option in ("-s", "--supplementary"):
            with self.subTest(option=option):
                self.case("envuidgid", [option, account.pw_name] + PRINT, stdout=expected)

    def test_inherited_gidlist_is_removed_without_s(self):
        nobody = pwd.getpwnam("nobody")
        self.case("envuidgid", ["nobody"] + PRINT, env=dict(os.environ, GIDLIST="0"),
                  stdout=f"UID={nobody.pw_uid} GID={nobody.pw_gid} GIDLIST=unset\n")

    def test_numeric_account(self):
        self.case("envuidgid", ["123:0x10"] + PRINT, stdout="UID=123 GID=16 GIDLIST=unset\n")


class Failures(StateTestCase):
    def test_unknown_account_stops_the_chain(self):
        suffix = " in /etc/passwd" if STATIC else ""
        self.case("envuidgid", ["no-such-user-here", "true"], status=FAILURE,
                  fatal=f"no-such-user-here: no such account{suffix}")
        self.assertStopsBeforeListen(["envuidgid", "no-such-user-here", "true"], FAILURE, "no-such-user-here")

    def test_usage(self):
        self.case("envuidgid", [], status=USAGE, fatal="ACCOUNT: missing operand")
        self.case("envuidgid", ["nobody"], status=USAGE, fatal="missing next program")
        self.case("envuidgid", ["-s", "1:1", "true"], status=USAGE, fatal="needs an account name")
        self.case("envuidgid", ["1:x", "true"], status=USAGE, fatal="ACCOUNT: not a number")
        self.case("envuidgid", ["-g", "0", "nobody", "true"], status=USAGE, fatal="unknown option")


if __name__ == "__main__":
    main()
