"""End-to-end tests of setuidgid: the identity the program at the end of the
chain runs with, every documented exit status, failing closed, an untouched
environment, a private group database for -s, and the static build in a
chroot that holds nothing but the binary and two account files."""

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, STATIC, TOOLKIT, USAGE, ToolkitTestCase,
                     main, run)

IS_ROOT = os.geteuid() == 0
needs_root = unittest.skipUnless(IS_ROOT, "changing identity needs root")

# What the end of the chain runs as: real, effective, saved and file-system ids
# and the group list, as the kernel reports them. (Not a Python probe: the
# interpreter need not be readable by the account we become.)
IDENTITY = ["grep", "-E", "^(Uid|Gid|Groups):", "/proc/self/status"]


def identity(uid, gid, groups):
    """IDENTITY's output for an identity."""
    return (f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\n"
            f"Groups:\t{''.join(str(g) + ' ' for g in sorted(set(groups)))}\n")


NOBODY = pwd.getpwnam("nobody")


def group_name(gid):
    return grp.getgrgid(gid).gr_name


def id_line(uid, gid, groups):
    """What coreutils id prints for an identity (names through the running system)."""
    def named(number, lookup):
        try:
            return f"{number}({lookup(number)})"
        except KeyError:
            return str(number)
    user = named(uid, lambda n: pwd.getpwuid(n).pw_name)
    return (f"uid={user} gid={named(gid, group_name)} groups="
            + ",".join(named(g, group_name) for g in groups) + "\n")


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


class TempDirTestCase(ToolkitTestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="setuidgid-test-")
        os.chmod(self.directory, 0o777)  # the next program may run as anybody
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.directory, name)


@needs_root
class Accounts(TempDirTestCase):
    def test_user_name(self):
        self.case("setuidgid", ["nobody"] + IDENTITY, stdout=identity(NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid]))

    def test_id_at_the_end_of_the_chain(self):
        self.case("setuidgid", ["nobody", "id"], stdout=id_line(NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid]))

    def test_primary_group_by_name(self):
        daemon = grp.getgrgid(1)
        for option in (["-g", daemon.gr_name], ["--primary-group", daemon.gr_name],
                       ["--primary-group=" + daemon.gr_name], ["-g" + daemon.gr_name]):
            with self.subTest(option=option):
                self.case("setuidgid", option + ["nobody"] + IDENTITY, stdout=identity(NOBODY.pw_uid, 1, [1]))

    def test_primary_group_by_number(self):
        for text, gid in (("1", 1), ("54321", 54321), ("0", 0), ("010", 8), ("4294967294", 4294967294)):
            with self.subTest(text=text):
                self.case("setuidgid", ["-g", text, "nobody"] + IDENTITY, stdout=identity(NOBODY.pw_uid, gid, [gid]))

    def test_last_primary_group_wins(self):
        self.case("setuidgid", ["-g", "1", "--primary-group", "2", "nobody"] + IDENTITY,
                  stdout=identity(NOBODY.pw_uid, 2, [2]))

    def test_uid_gid_numbers(self):
        for account, uid, gid in (("1234:5678", 1234, 5678), ("0x10:020", 16, 16), ("0:0", 0, 0),
                                  ("4294967294:4294967294", 4294967294, 4294967294)):
            with self.subTest(account=account):
                self.case("setuidgid", [account] + IDENTITY, stdout=identity(uid, gid, [gid]))

    def test_uid_gid_with_primary_group(self):
        self.case("setuidgid", ["-g", "7", "1234:5678"] + IDENTITY, stdout=identity(1234, 7, [7]))

    def test_root_keeps_no_other_groups(self):
        # As root with many groups, setuidgid root leaves exactly [0].
        def many_groups():
            os.setgroups([1, 2, 3])
        self.case("setuidgid", ["root"] + IDENTITY, stdout=identity(0, 0, [0]), preexec_fn=many_groups)

    def test_chained_with_fdmove(self):
        self.case("setuidgid", ["nobody", "fdmove", "-c", "2", "1", "sh", "-c", "id -u >&2"],
                  stdout=f"{NOBODY.pw_uid}\n")

    def test_environment_is_untouched(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "USER": "root",
               "LOGNAME": "root", "ODD": "a=b\nc", "EMPTY": "", "Z_LAST": "z"}
        direct = run(["env", "-0"], env=env)
        self.assertEqual(direct.returncode, 0)
        for account in ("nobody", "1234:5678"):
            with self.subTest(account=account):
                self.case("setuidgid", [account, "env", "-0"], stdout=direct.stdout, env=env)

    def test_order_and_no_way_back(self):
        strace = shutil.which("strace")
        if strace is None:
            self.skipTest("strace is not installed")
        if run([strace, "-qq", "-o", os.devnull, "true"]).returncode != 0:
            self.skipTest("strace cannot trace here (ptrace not permitted)")
        log = self.path("trace")
        result = run([strace, "-f", "-qq", "-o", log, "-e", "signal=none",
                      "-e", "trace=setgroups,setgid,setuid,setresuid,setresgid,setreuid,setregid,execve",
                      TOOLKIT, "setuidgid", "nobody", "/bin/true"])
        self.assertClean(result, "")
        with open(log) as f:
            lines = f.read().splitlines()
        calls = [line.split("(", 1)[0].split()[-1] for line in lines]
        self.assertEqual(calls[0], "execve")
        self.assertEqual(calls[1:4], ["setgroups", "setgid", "setuid"], lines)
        self.assertIn(f"setgroups(1, [{NOBODY.pw_gid}])", lines[1])
        self.assertIn(f"setuid({NOBODY.pw_uid})", lines[3])
        self.assertEqual(calls[-1], "execve")
        # After dropping root, and before the execve, it tried to get root back and could not.
        attempts = lines[4:-1]
        self.assertTrue(attempts, lines)
        for line in attempts:
            self.assertRegex(line, r"^\S*\s*set(res|e)?uid\(.*\b0\b.*= -1 EPERM", lines)


class SupplementaryGroups(TempDirTestCase):
    """-s against a private group file, bind-mounted over /etc/group in a mount
    namespace of the test's own child: the machine's file is never edited."""

    def setUp(self):
        super().setUp()
        if not IS_ROOT:
            self.skipTest("a private mount namespace needs root")
        if shutil.which("unshare") is None:
            self.skipTest("unshare is not installed")
        with open("/etc/group") as f:
            system = f.read()
        self.group_file = self.path("group")
        with open(self.group_file, "w") as f:
            f.write(system.rstrip("\n") + "\n"
                    "tk-readers:x:54321:someone,nobody\n"
                    "tk-writers:x:54322:nobody\n"
                    "tk-others:x:54323:someone\n")
        os.chmod(self.group_file, 0o644)
        check = run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/group && grep -c tk- /etc/group',
                     self.group_file])
        if check.returncode != 0 or check.stdout != "3\n":
            self.skipTest(f"cannot bind-mount a private /etc/group here: {check.stderr.strip()}")

    def in_private_namespace(self, argv):
        """ARGV run with the private group file over /etc/group."""
        return ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/group && exec "$@"',
                self.group_file] + argv

    def test_supplementary_groups_from_the_group_file(self):
        for option in ("-s", "--supplementary"):
            with self.subTest(option=option):
                self.case("setuidgid", [option, "nobody"] + IDENTITY, wrap=self.in_private_namespace,
                          stdout=identity(NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid, 54321, 54322]))

    def test_id_shows_the_groups(self):
        gid = NOBODY.pw_gid
        self.case("setuidgid", ["-s", "nobody", "id"], wrap=self.in_private_namespace,
                  stdout=f"uid={NOBODY.pw_uid}(nobody) gid={gid}({group_name(gid)}) "
                         f"groups={gid}({group_name(gid)}),54321(tk-readers),54322(tk-writers)\n")

    def test_with_primary_group(self):
        self.case("setuidgid", ["-s", "-g", "tk-others", "nobody"] + IDENTITY, wrap=self.in_private_namespace,
                  stdout=identity(NOBODY.pw_uid, 54323, [54321, 54322, 54323]))

    def test_clustered_with_attached_value(self):
        self.case("setuidgid", ["-sgtk-others", "nobody"] + IDENTITY, wrap=self.in_private_namespace,
                  stdout=identity(NOBODY.pw_uid, 54323, [54321, 54322, 54323]))

    def test_without_s_the_memberships_are_ignored(self):
        self.case("setuidgid", ["nobody"] + IDENTITY, wrap=self.in_private_namespace,
                  stdout=identity(NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid]))

class Help(ToolkitTestCase):
    def test_help_exits_0(self):
        def usage(result, form):
            self.assertTrue(result.stdout.startswith("Usage: setuidgid [OPTIONS] ACCOUNT NEXT-PROG"))
            self.assertIn("--supplementary", result.stdout)
            self.assertIn("--primary-group GROUP", result.stdout)
        for spelling in ("--help", "--usage", "-?"):
            with self.subTest(spelling=spelling):
                self.case("setuidgid", [spelling], then=usage)

class UsageErrors(TempDirTestCase):
    def assertUsage(self, args, *fragments):
        marker = self.path("ran")
        with self.subTest(args=args):
            self.case("setuidgid", args + ["touch", marker], status=USAGE, fatal=fragments, stdout="")
            self.assertFalse(os.path.exists(marker), "the next program ran")

    def test_missing_operands(self):
        self.case("setuidgid", [], status=USAGE, fatal="ACCOUNT: missing operand")
        self.case("setuidgid", ["nobody"], status=USAGE, fatal="NEXT-PROG: missing next program")
        self.case("setuidgid", ["-s"], status=USAGE, fatal="ACCOUNT: missing operand")

    def test_supplementary_with_numbers(self):
        self.assertUsage(["-s", "1234:5678"], "--supplementary: needs an account name, not UID:GID")

    def test_bad_uid_gid(self):
        self.assertUsage(["4294967295:0"], "ACCOUNT", "out of range", "4294967295")
        self.assertUsage(["0:4294967295"], "ACCOUNT", "out of range")
        self.assertUsage(["--", "-1:0"], "ACCOUNT", "not a number")
        self.assertUsage(["-1:0"], "-1:0", "unknown option")  # a leading "-" is an option
        for account in ("12:ab", ":5", "5:", ":", "1:2:3", "1 :2", "+1:2"):
            with self.subTest(account=account):
                self.assertUsage([account], "ACCOUNT", "not a number")

    def test_bad_options(self):
        self.assertUsage(["--bogus", "nobody"], "bogus", "unknown option")
        self.assertUsage(["--supp", "nobody"], "supp", "unknown option")
        self.assertUsage(["-x", "nobody"], "-x", "unknown option")
        self.assertUsage(["-s=1", "nobody"], "unknown option")

    def test_group_option_needs_a_value(self):
        self.case("setuidgid", ["-g"], status=USAGE, fatal="needs a value")
        self.case("setuidgid", ["--primary-group"], status=USAGE, fatal="needs a value")

    def test_an_empty_name_is_a_usage_error_naming_where_it_was(self):
        # Nothing to look up: not "no such account" with no name in it.
        self.assertUsage([""], "setuidgid: FATAL: ACCOUNT: empty account name")
        self.assertUsage(["-s", ""], "setuidgid: FATAL: ACCOUNT: empty account name")
        for words in (["-g", ""], ["--primary-group", ""], ["--primary-group="]):
            with self.subTest(words=words):
                self.assertUsage(words + ["nobody"],
                                 "setuidgid: FATAL: --primary-group: empty group name")

    def test_numeric_group_out_of_range(self):
        self.assertUsage(["-g", "4294967295", "nobody"], "out of range", "4294967295")


class LookupFailures(TempDirTestCase):
    def test_unknown_user_is_111(self):
        marker = self.path("ran")
        self.case("setuidgid", ["no-such-user-here", "touch", marker], status=FAILURE, stdout="",
                  stderr="setuidgid: FATAL: no-such-user-here: no such account"
                         + (" in /etc/passwd" if STATIC else "") + "\n")
        self.assertFalse(os.path.exists(marker))

    def test_unknown_group_is_111(self):
        marker = self.path("ran")
        self.case("setuidgid", ["-g", "no-such-group-here", "nobody", "touch", marker], status=FAILURE,
                  fatal="no-such-group-here: no such group")
        self.assertFalse(os.path.exists(marker))

    def test_group_written_as_hex_is_a_name(self):
        # Only all-digit values are numbers; "0x1" is looked up as a name.
        self.case("setuidgid", ["-g", "0x1", "nobody", "true"], status=FAILURE, fatal="0x1: no such group")

    def test_lookup_happens_before_any_link_acts(self):
        # Were fd 2 copied from fd 1 first, the message would arrive on stdout.
        self.case("fdmove", ["-c", "2", "1", "setuidgid", "no-such-user-here", "true"], status=FAILURE,
                  fatal="no-such-user-here", fatal_by="setuidgid", stdout="")

    def test_fails_closed_when_the_change_is_refused(self):
        # Run without privilege: setgroups fails, and the next program never runs.
        marker = self.path("ran")
        preexec = as_nobody if IS_ROOT else None
        for account in ("0:0", "root"):
            with self.subTest(account=account):
                # public: what nobody runs must be reachable from where nobody stands.
                self.case("setuidgid", [account, "touch", marker], status=FAILURE,
                          fatal=("setgroups", "Operation not permitted"), public=True, preexec_fn=preexec)
                self.assertFalse(os.path.exists(marker), "the next program ran")

    def test_fails_closed_in_a_later_link(self):
        marker = self.path("ran")
        preexec = as_nobody if IS_ROOT else None
        self.case("fdmove", ["1", "1", "setuidgid", "0:0", "touch", marker], status=FAILURE, fatal="setgroups",
                  fatal_by="setuidgid", public=True, preexec_fn=preexec)
        self.assertFalse(os.path.exists(marker))

class NextProgram(TempDirTestCase):
    def test_not_found_is_127(self):
        self.case("setuidgid", ["nobody", "no-such-program-anywhere"], status=NOT_FOUND, fatal=(), stdout="",
                  then=lambda result, form: self.assertEqual(
                      result.stderr, "setuidgid: FATAL: no-such-program-anywhere: not found in PATH\n"))

    def test_not_found_is_checked_before_the_identity_changes(self):
        # If the identity changed first, the later fdmove link's check would still
        # fail the same way; what shows the order is that nothing else happened:
        # the message went to the original stderr, not to stdout.
        self.case("fdmove", ["-c", "2", "1", "setuidgid", "nobody", "/nonexistent/prog"], status=NOT_FOUND,
                  fatal="/nonexistent/prog", fatal_by="setuidgid", stdout="")

    @needs_root
    def test_not_found_leaves_the_identity_alone(self):
        strace = shutil.which("strace")
        if strace is None:
            self.skipTest("strace is not installed")
        if run([strace, "-qq", "-o", os.devnull, "true"]).returncode != 0:
            self.skipTest("strace cannot trace here (ptrace not permitted)")
        log = self.path("trace")
        result = run([strace, "-f", "-qq", "-o", log, "-e", "signal=none",
                      "-e", "trace=execve,setgroups,setgid,setuid,setresuid,setresgid",
                      TOOLKIT, "setuidgid", "-s", "nobody", "no-such-program-anywhere"])
        self.assertFatal(result, "setuidgid", NOT_FOUND, "no-such-program-anywhere")
        with open(log) as f:
            calls = [line.split("(", 1)[0].split()[-1] for line in f.read().splitlines()]
        self.assertEqual(calls, ["execve"])

    def test_not_executable_is_126(self):
        plain = self.path("plain")
        with open(plain, "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(plain, 0o644)
        self.case("setuidgid", ["nobody", plain], status=CANNOT_RUN, fatal=plain, stdout="")

    @needs_root
    def test_executable_only_by_root_is_126_after_the_change(self):
        # Found and runnable for root while planning; refused by execve once we are nobody.
        private = self.path("private")
        with open(private, "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(private, 0o700)
        self.case("setuidgid", ["nobody", private], status=CANNOT_RUN, fatal=(private, "Permission denied"),
                  stdout="")

    @needs_root
    def test_path_is_searched_again_as_the_account(self):
        # Root finds rootonly/hello first; nobody cannot search rootonly, so, as
        # execvp would for it, the program that runs is pub/hello.
        for name in ("rootonly", "pub"):
            os.mkdir(self.path(name), 0o755)
            with open(os.path.join(self.path(name), "hello"), "w") as f:
                f.write(f"#!/bin/sh\necho {name} $(id -u)\n")
            os.chmod(os.path.join(self.path(name), "hello"), 0o755)
        os.chmod(self.path("rootonly"), 0o700)
        env = dict(os.environ, PATH=":".join([self.path("rootonly"), self.path("pub"), "/usr/bin", "/bin"]))
        self.case("setuidgid", ["nobody", "hello"], env=env, stdout="pub 65534\n")
        self.case("setuidgid-fromenv", ["hello"], env=dict(env, UID="65534", GID="65534"),
                  stdout="pub 65534\n")

class StaticChroot(ToolkitTestCase):
    """The static binary in a root file system holding only itself, busybox
    and two account files: no NSS, no shared libraries, no /proc."""

    def setUp(self):
        if not STATIC:
            self.skipTest("not a static build (configure with -Dstatic=true)")
        if not IS_ROOT:
            self.skipTest("chroot needs root")
        busybox = shutil.which("busybox")
        if busybox is None:
            self.skipTest("busybox is not installed (Debian package busybox-static)")
        self.root = tempfile.mkdtemp(prefix="setuidgid-chroot-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        os.chmod(self.root, 0o755)  # it becomes "/": the account must be able to look around
        os.makedirs(os.path.join(self.root, "bin"))
        os.makedirs(os.path.join(self.root, "etc"))
        shutil.copy2(TOOLKIT, os.path.join(self.root, "toolkit"))
        shutil.copy2(busybox, os.path.join(self.root, "bin", "busybox"))
        os.symlink("/toolkit", os.path.join(self.root, "bin", "setuidgid"))
        with open(os.path.join(self.root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/:/bin/busybox\n"
                    "# a comment, and a malformed line\n"
                    "broken:x:notanumber:1::/:/bin/busybox\n"
                    "keeper:x:4321:4322:Lighthouse keeper:/:/bin/busybox\n")
        with open(os.path.join(self.root, "etc", "group"), "w") as f:
            f.write("root:x:0:\n"
                    "keepers:x:4322:\n"
                    "watchers:x:4323:keeper,other\n"
                    "others:x:4324:other\n")
        smoke = self.inside(["/bin/busybox", "true"])
        if smoke.returncode != 0:
            self.skipTest(f"{busybox} does not run alone in a chroot (not the static busybox?)")

    def inside(self, argv):
        def enter():
            os.chroot(self.root)
            os.chdir("/")
        return subprocess.run(argv, env={"PATH": "/bin"}, capture_output=True, text=True, timeout=20,
                              preexec_fn=enter)

    def test_setuidgid_by_name(self):
        for argv in (["/toolkit", "setuidgid"], ["/bin/setuidgid"], ["setuidgid"]):
            with self.subTest(argv=argv):
                result = self.inside(argv + ["keeper", "busybox", "id"])
                self.assertClean(result, "uid=4321(keeper) gid=4322(keepers) groups=4322(keepers)\n")

    def test_supplementary_and_primary_group(self):
        result = self.inside(["/toolkit", "setuidgid", "-s", "keeper", "/bin/busybox", "id"])
        self.assertClean(result, "uid=4321(keeper) gid=4322(keepers) groups=4322(keepers),4323(watchers)\n")
        result = self.inside(["/toolkit", "setuidgid", "-g", "others", "keeper", "/bin/busybox", "id"])
        self.assertClean(result, "uid=4321(keeper) gid=4324(others) groups=4324(others)\n")

    def test_whole_chain(self):
        result = self.inside(["/toolkit", "fdmove", "-c", "2", "1", "setuidgid", "keeper",
                              "busybox", "sh", "-c", "busybox id -un >&2"])
        self.assertClean(result, "keeper\n")

    def test_unknown_names(self):
        result = self.inside(["/toolkit", "setuidgid", "stranger", "/bin/busybox", "id"])
        self.assertFatal(result, "setuidgid", FAILURE, "stranger: no such account in /etc/passwd")
        # The first entry of a name decides: a malformed one stops the look-up (fail closed).
        result = self.inside(["/toolkit", "setuidgid", "broken", "/bin/busybox", "id"])
        self.assertFatal(result, "setuidgid", FAILURE, "broken: its entry in /etc/passwd is malformed")
        result = self.inside(["/toolkit", "setuidgid", "-g", "strangers", "keeper", "/bin/busybox", "id"])
        self.assertFatal(result, "setuidgid", FAILURE, "strangers: no such group in /etc/group")

    def test_missing_account_files(self):
        os.remove(os.path.join(self.root, "etc", "passwd"))
        result = self.inside(["/toolkit", "setuidgid", "keeper", "/bin/busybox", "id"])
        self.assertFatal(result, "setuidgid", FAILURE, "/etc/passwd: No such file or directory")
        result = self.inside(["/toolkit", "setuidgid", "4321:4322", "/bin/busybox", "id", "-u"])
        self.assertClean(result, "4321\n")


if __name__ == "__main__":
    main()
