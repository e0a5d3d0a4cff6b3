#!/usr/bin/env python3
"""`DESTDIR=... meson install` in each links mode (symlink, hardlink, none).

Configures one scratch build of the source tree (prefix /usr), builds it once,
then reconfigures only -Dlinks and installs into a fresh DESTDIR per mode, and
checks the tree: binary, one link per applet of the right kind, manual pages,
completion, initramfs recipes; and that every applet runs through its link.
"""
import fnmatch
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


RPM_DIRS = {"%{_bindir}": "/usr/bin", "%{_mandir}": "/usr/share/man", "%{_datadir}": "/usr/share"}
APPLET_FILES = "applet.files"  # what the spec's %install writes for %files -f


def applet_files():
    """The %files entries the spec's %install makes from commands/list, made the same way."""
    with open(os.path.join(SOURCE, "commands", "list"), encoding="utf-8") as registry:
        listed = subprocess.run(["sh", os.path.join(SOURCE, "packaging/rpm/applet-files.sh"),
                                 RPM_DIRS["%{_bindir}"], RPM_DIRS["%{_mandir}"], RPM_DIRS["%{_datadir}"]],
                                stdin=registry, capture_output=True, text=True, check=True)
    return [(line, False) for line in listed.stdout.splitlines()]


def rpm_files():
    """The %files entries of the RPM spec, with the directory macros expanded."""
    entries, in_files = [], False
    with open(os.path.join(SOURCE, "packaging/rpm/toolkit.spec"), encoding="utf-8") as spec:
        for line in spec:
            line = line.strip()
            if line.startswith("%"):
                if line in ("%files", "%files -f " + APPLET_FILES):
                    in_files = True
                    if line != "%files":
                        entries += applet_files()
                    continue
                if not line.startswith(("%{", "%dir ")):
                    in_files = False
            if not in_files or not line or line.startswith("#"):
                continue
            is_dir = line.startswith("%dir ")
            path = line.removeprefix("%dir ")
            for macro, value in RPM_DIRS.items():
                path = path.replace(macro, value)
            if "%" in path:
                raise AssertionError(f"unexpanded macro in %files: {line}")
            entries.append((path, is_dir))
    return entries


def installed(root):
    """Every file and symlink under ROOT, as absolute paths in the installed system."""
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            found.append("/" + os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


def rpm_matches(entry, path):
    if entry.endswith("/"):
        return path.startswith(entry)
    return fnmatch.fnmatchcase(path, entry)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.mkdtemp(prefix="toolkit-install-")
        cls.build = os.path.join(cls.scratch, "build")
        # Unoptimised: this checks what gets installed, not how fast it runs.
        run("meson", "setup", "--prefix=/usr", "-Doptimization=0", cls.build, SOURCE)
        # Only what gets installed (not the unit tests): then install without rebuilding.
        cls.compile()

    @classmethod
    def compile(cls):
        run("meson", "compile", "-C", cls.build, "toolkit", "bash-completion")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def install(self, mode):
        run("meson", "configure", f"-Dlinks={mode}", self.build)
        self.compile()  # regenerates the install plan for the new option; nothing to recompile
        destdir = os.path.join(self.scratch, "root-" + mode)
        env = dict(os.environ, DESTDIR=destdir)
        run("meson", "install", "--quiet", "--no-rebuild", "-C", self.build, env=env)
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

    def test_rpm_spec_lists_what_meson_installs(self):
        # The spec builds with -Dlinks=symlink and --prefix=/usr, as installed here.
        root = self.install("symlink")
        entries = rpm_files()
        self.assertTrue(entries)
        files = installed(root)
        for path in files:
            self.assertTrue(any(rpm_matches(e, path) for e, is_dir in entries if not is_dir),
                            f"{path} is installed but not in the spec's %files")
        for entry, is_dir in entries:
            if is_dir:
                self.assertTrue(os.path.isdir(root + entry), f"%dir {entry} is not installed")
            else:
                self.assertTrue(any(rpm_matches(entry, p) for p in files),
                                f"%files {entry} matches nothing meson installs")

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
