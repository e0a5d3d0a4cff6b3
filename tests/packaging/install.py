#!/usr/bin/env python3
"""`DESTDIR=... meson install` in each links mode (symlink, hardlink, none).

Configures one scratch build of the source tree (prefix /usr), builds it once,
then reconfigures only -Dlinks and installs into a fresh DESTDIR per mode, and
checks the tree: binary, one link per applet of the right kind, manual pages,
completion, initramfs recipes; and that every applet runs through its link.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.path.abspath(os.environ["TOOLKIT_SOURCE_DIR"])
MANPAGES = sorted(f for f in os.listdir(os.path.join(SOURCE, "manpages")) if f.endswith(".1"))
APPLETS = [line.strip() for line in open(os.path.join(SOURCE, "commands", "list"), encoding="utf-8")
           if line.strip() and not line.startswith("#")]


def run(*args, env=None, cwd=None):
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, check=False, env=env, cwd=cwd)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}")
    return done.stdout


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.mkdtemp(prefix="toolkit-install-")
        cls.build = os.path.join(cls.scratch, "build")
        # Unoptimised: this checks what gets installed, not how fast it runs.
        run("meson", "setup", "--prefix=/usr", "-Doptimization=0", cls.build, SOURCE)
        run("ninja", "-C", cls.build)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def install(self, mode):
        run("meson", "configure", f"-Dlinks={mode}", self.build)
        destdir = os.path.join(self.scratch, "root-" + mode)
        env = dict(os.environ, DESTDIR=destdir)
        run("meson", "install", "--quiet", "-C", self.build, env=env)
        return destdir

    def check_common(self, root, with_completion_links):
        binary = os.path.join(root, "usr/bin/toolkit")
        self.assertTrue(os.access(binary, os.X_OK), binary)
        listed = run(binary, "--list").split()
        self.assertEqual(sorted(listed), sorted(APPLETS))
        man1 = os.path.join(root, "usr/share/man/man1")
        self.assertEqual(sorted(os.listdir(man1)), MANPAGES)
        completions = os.path.join(root, "usr/share/bash-completion/completions")
        self.assertTrue(os.path.isfile(os.path.join(completions, "toolkit")))
        expected = ["toolkit"] + (APPLETS if with_completion_links else [])
        self.assertEqual(sorted(os.listdir(completions)), sorted(expected))
        for name in APPLETS if with_completion_links else []:
            self.assertEqual(os.readlink(os.path.join(completions, name)), "toolkit")
        for recipe in ("usr/share/toolkit/initramfs-tools/hooks/toolkit",
                       "usr/share/toolkit/dracut/90toolkit/module-setup.sh"):
            self.assertTrue(os.access(os.path.join(root, recipe), os.X_OK), recipe)
        # nothing outside /usr
        self.assertEqual(os.listdir(root), ["usr"])
        return binary

    def check_runs_by_name(self, path, applet):
        out = run(path, "--help")
        self.assertTrue(out.startswith(f"Usage: {applet} "), out)

    def test_symlink(self):
        root = self.install("symlink")
        binary = self.check_common(root, True)
        for applet in APPLETS:
            link = os.path.join(root, "usr/bin", applet)
            self.assertTrue(os.path.islink(link), link)
            self.assertEqual(os.readlink(link), "toolkit")  # relative: survives relocation
            self.assertTrue(os.path.samefile(link, binary))
            self.check_runs_by_name(link, applet)

    def test_hardlink(self):
        root = self.install("hardlink")
        binary = self.check_common(root, True)
        self.assertEqual(os.stat(binary).st_nlink, len(APPLETS) + 1)
        for applet in APPLETS:
            link = os.path.join(root, "usr/bin", applet)
            self.assertFalse(os.path.islink(link), link)
            self.assertTrue(os.path.samefile(link, binary))
            self.check_runs_by_name(link, applet)

    def test_hardlink_reinstall_is_idempotent(self):
        self.install("hardlink")
        root = self.install("hardlink")
        self.assertEqual(os.stat(os.path.join(root, "usr/bin/toolkit")).st_nlink, len(APPLETS) + 1)

    def test_none(self):
        root = self.install("none")
        self.check_common(root, False)
        self.assertEqual(os.listdir(os.path.join(root, "usr/bin")), ["toolkit"])


if __name__ == "__main__":
    if shutil.which("meson") is None or shutil.which("ninja") is None:
        sys.exit(77)
    unittest.main(verbosity=2)
