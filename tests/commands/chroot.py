"""End-to-end tests of chroot (as root): the next program runs inside the new
root, is looked up there while planning (absolute symbolic links included), a
root without it is 127 with nothing changed, accounts of later links looked
up outside the root (chpst -/ -u looks inside), and the failures."""

import os
import pwd
import shutil
import unittest

from harness import FAILURE, NOT_FOUND, USAGE, applet_link, main, run
from process_state import IS_ROOT, StateTestCase, as_nobody, peer


class RootTestCase(StateTestCase):
    """A root file system holding static busybox, reached through absolute links."""

    def setUp(self):
        super().setUp()
        busybox = shutil.which("busybox")
        if busybox is None:
            self.skipTest("busybox is not installed (Debian package busybox-static)")
        self.root = self.path("root")
        for directory in ("bin", "srv/app", "usr"):
            os.makedirs(os.path.join(self.root, directory))
        shutil.copy2(busybox, os.path.join(self.root, "bin", "busybox"))
        for name in ("sh", "pwd", "echo", "id"):
            os.symlink("/bin/busybox", os.path.join(self.root, "bin", name))
        os.symlink("/bin", os.path.join(self.root, "usr", "bin"))
        self.env = {"PATH": "/usr/bin:/bin"}


@unittest.skipUnless(IS_ROOT, "chroot needs root")
class InsideTheRoot(RootTestCase):
    def test_runs_inside_at_the_top(self):
        result = self.case("chroot", [self.root, "/bin/busybox", "sh", "-c", "pwd; ls /"], env=self.env)[0]
        self.assertEqual(result.stdout, "/\nbin\nsrv\nusr\n")

    def test_path_search_inside_through_absolute_links(self):
        # /bin/sh -> /bin/busybox only resolves inside the root.
        self.case("chroot", [self.root, "sh", "-c", "echo inside"], env=self.env, stdout="inside\n")

    def test_same_as_chpst(self):
        probe = ["sh", "-c", "pwd; ls /"]
        ours = run([applet_link("chroot"), self.root] + probe, env=self.env)
        theirs = run([peer("chpst"), "-/", self.root] + probe, env=self.env)
        self.assertEqual((ours.returncode, ours.stdout), (theirs.returncode, theirs.stdout))

    def test_chdir_after_chroot_is_inside(self):
        self.case("chroot", [self.root, "chdir", "/srv/app", "pwd"], env=self.env, stdout="/srv/app\n")
        self.case("chroot", [self.root, "chdir", "bin", "./busybox", "pwd"], env=self.env, stdout="/bin\n")

    def test_a_second_chroot_is_found_inside_the_first(self):
        # /link -> /real only resolves inside the first root; ".." at the top of
        # a root is the root itself, so the second chroot below goes nowhere.
        os.makedirs(os.path.join(self.root, "real", "bin"))
        shutil.copy2(os.path.join(self.root, "bin", "busybox"), os.path.join(self.root, "real", "bin"))
        os.symlink("/real", os.path.join(self.root, "link"))
        self.case("chroot", [self.root, "chroot", "/link", "/bin/busybox", "echo", "nested"],
                  env=self.env, stdout="nested\n")
        srv = os.path.join(self.root, "srv")
        self.case("chroot", [srv, "chroot", "..", "/bin/busybox", "true"], env=self.env,
                  status=NOT_FOUND, fatal="/bin/busybox: not found")
        self.assertStopsBeforeListen(["chroot", srv, "chroot", "..", "/bin/busybox", "true"], NOT_FOUND,
                                     "/bin/busybox", applet="chroot", env=self.env)

    def test_program_missing_inside_is_127_and_nothing_changed(self):
        # /usr/bin/env exists outside the root, not inside it.
        for program in ("/usr/bin/env", "env", "./busybox"):
            with self.subTest(program=program):
                self.case("chroot", [self.root, program], env=self.env, status=NOT_FOUND, fatal=program)
                self.assertStopsBeforeListen(["chroot", self.root, program], NOT_FOUND, program, env=self.env)

    def test_missing_or_not_a_directory(self):
        missing = self.path("missing")
        self.case("chroot", [missing, "true"], status=FAILURE, fatal=(missing, "No such file or directory"))
        self.assertStopsBeforeListen(["chroot", missing, "true"], FAILURE, missing)
        busybox = os.path.join(self.root, "bin", "busybox")
        self.case("chroot", [busybox, "true"], status=FAILURE, fatal=(busybox, "Not a directory"))

    def test_refused_without_privilege(self):
        result = run([self.public_link("chroot"), self.root, "/bin/busybox", "true"], preexec_fn=as_nobody)
        self.assertFatal(result, "chroot", FAILURE, self.root, "Operation not permitted")

    def test_entry_point_chain_inside(self):
        os.mkdir(os.path.join(self.root, "env"))
        with open(os.path.join(self.root, "env", "GREETING"), "w") as f:
            f.write("hello\n")
        self.case("chroot", [self.root, "envdir", "/env", "chdir", "/srv", "umask", "027",
                             "setuidgid", "65534:65534", "sh", "-c", 'echo "$GREETING $(pwd) $(id -u)"'],
                  env=self.env, stdout="hello /srv 65534\n")


@unittest.skipUnless(IS_ROOT, "chroot needs root")
class AccountsAfterTheChange(RootTestCase):
    """The root has an account database of its own, which differs from the one outside."""

    def setUp(self):
        super().setUp()
        os.mkdir(os.path.join(self.root, "etc"))
        with open(os.path.join(self.root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0::/:/bin/sh\nnobody:x:4242:4242::/:/bin/sh\ninside:x:4343:4343::/:/bin/sh\n")
        with open(os.path.join(self.root, "etc", "group"), "w") as f:
            f.write("root:x:0:\nnobody:x:4242:\ninside:x:4343:\n")

    def test_setuidgid_names_are_looked_up_outside(self):
        # Planned before the chroot: the database outside decides.
        nobody = pwd.getpwnam("nobody")
        self.case("chroot", [self.root, "setuidgid", "nobody", "id", "-u"], env=self.env,
                  stdout=f"{nobody.pw_uid}\n")
        self.case("chroot", [self.root, "envuidgid", "nobody", "sh", "-c", "echo $UID"], env=self.env,
                  stdout=f"{nobody.pw_uid}\n")
        self.case("chroot", [self.root, "setuidgid", "inside", "id", "-u"], env=self.env, status=FAILURE,
                  fatal="inside: no such account", fatal_by="setuidgid")
        self.assertStopsBeforeListen(["chroot", self.root, "setuidgid", "inside", "id"], FAILURE,
                                     "inside: no such account", applet="setuidgid", env=self.env)

    def test_chpst_looks_the_account_up_inside(self):
        probe = ["/bin/id", "-u"]
        theirs = run([peer("chpst"), "-/", self.root, "-u", "nobody"] + probe, env=self.env)
        self.assertEqual((theirs.returncode, theirs.stdout), (0, "4242\n"))
        theirs = run([peer("chpst"), "-/", self.root, "-u", "inside"] + probe, env=self.env)
        self.assertEqual((theirs.returncode, theirs.stdout), (0, "4343\n"))
        ours = run([applet_link("chroot"), self.root, "setuidgid", "nobody"] + probe, env=self.env)
        self.assertEqual((ours.returncode, ours.stdout), (0, f"{pwd.getpwnam('nobody').pw_uid}\n"))


class Usage(StateTestCase):
    def test_usage(self):
        self.case("chroot", [], status=USAGE, fatal="DIR: missing operand")
        self.case("chroot", ["", "true"], status=USAGE, fatal="DIR: empty path")
        self.case("chroot", ["/"], status=USAGE, fatal="missing next program")
        self.case("chroot", ["--userspec=1:1", "/", "true"], status=USAGE, fatal="unknown option")


if __name__ == "__main__":
    main()
