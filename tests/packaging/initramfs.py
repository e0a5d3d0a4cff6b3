#!/usr/bin/env python3
"""The initramfs-tools hook and the dracut module, run for real into an image tree.

Each recipe is run the way its builder runs it (DESTDIR/initdir set, the
builder's helper functions defined: stubs, or initramfs-tools' own
hook-functions when installed); the tree is packed into a newc cpio archive,
listed, unpacked again, and the applet links must resolve to the binary and run.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

TOOLKIT = os.path.abspath(os.environ["TOOLKIT"])
SOURCE = os.path.abspath(os.environ["TOOLKIT_SOURCE_DIR"])
HOOK = os.path.join(SOURCE, "packaging/initramfs-tools/hooks/toolkit")
DRACUT = os.path.join(SOURCE, "packaging/dracut/90toolkit/module-setup.sh")
REAL_HOOK_FUNCTIONS = "/usr/share/initramfs-tools/hook-functions"

# What copy_exec and inst_binary do, reduced to copying one file to its place in the image.
STUB_INITRAMFS_TOOLS = """
copy_exec() { mkdir -p "$DESTDIR/${2%/*}" && cp -p "$1" "$DESTDIR/$2" && echo "copy_exec $1 $2" >>"$STUB_LOG"; }
"""
STUB_DRACUT = """
inst_binary() { mkdir -p "$initdir/${2%/*}" && cp -p "$1" "$initdir/$2" && echo "inst_binary $1 $2" >>"$STUB_LOG"; }
require_binaries() { local b; for b; do [ -x "$b" ] || return 1; done; }
derror() { echo "dracut: ERROR: $*" >&2; }
"""


def run(args, env=None, stdin=None, cwd=None):
    return subprocess.run(args, env=env, input=stdin, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, check=False)


def applets():
    return run([TOOLKIT, "--list"]).stdout.decode().split()


class Recipes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="toolkit-initramfs-")
        self.image = os.path.join(self.tmp, "image")
        os.mkdir(self.image)
        self.log = os.path.join(self.tmp, "stub.log")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stub(self, text):
        path = os.path.join(self.tmp, "stub-functions")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def run_hook(self, functions, binary=TOOLKIT, *args):
        env = dict(os.environ, DESTDIR=self.image, TOOLKIT_BINARY=binary, verbose="n",
                   TOOLKIT_HOOK_FUNCTIONS=functions, STUB_LOG=self.log)
        return run(["sh", HOOK, *args], env=env)

    def run_dracut(self, function, binary=TOOLKIT):
        program = f'. "{self.stub(STUB_DRACUT)}"; . "{DRACUT}"; {function}'
        env = dict(os.environ, initdir=self.image, TOOLKIT_BINARY=binary, STUB_LOG=self.log)
        return run(["bash", "-c", program], env=env)

    def pack_and_check(self):
        """cpio the image, list it, unpack it elsewhere, check links and run the applets."""
        listing = run(["sh", "-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0"],
                      cwd=self.image)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        archive = listing.stdout
        names = run(["cpio", "-it"], stdin=archive).stdout.decode().split()
        self.assertIn("usr/bin/toolkit", names)
        for applet in applets():
            self.assertIn("usr/bin/" + applet, names)
        verbose = run(["cpio", "-itv"], stdin=archive).stdout.decode()
        for applet in applets():
            self.assertRegex(verbose, rf"(?m)^l.* usr/bin/{applet} -> toolkit$")
        unpacked = os.path.join(self.tmp, "unpacked")
        os.mkdir(unpacked)
        result = run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], stdin=archive, cwd=unpacked)
        self.assertEqual(result.returncode, 0, result.stderr)
        binary = os.path.join(unpacked, "usr/bin/toolkit")
        self.assertTrue(stat.S_ISREG(os.lstat(binary).st_mode))
        self.assertEqual(run(["cmp", binary, TOOLKIT]).returncode, 0, "binary differs")
        for applet in applets():
            link = os.path.join(unpacked, "usr/bin", applet)
            self.assertEqual(os.readlink(link), "toolkit")
            self.assertEqual(os.path.realpath(link), os.path.realpath(binary))
            out = run([link, "--help"])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertTrue(out.stdout.decode().startswith(f"Usage: {applet} "))
        return unpacked

    # initramfs-tools
    def test_hook_prereqs(self):
        result = self.run_hook(self.stub(STUB_INITRAMFS_TOOLS), TOOLKIT, "prereqs")
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, b"\n", b""))
        self.assertEqual(os.listdir(self.image), [])

    def test_hook_with_stub_copy_exec(self):
        result = self.run_hook(self.stub(STUB_INITRAMFS_TOOLS))
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        with open(self.log, encoding="utf-8") as log:
            self.assertEqual(log.read(), f"copy_exec {TOOLKIT} /usr/bin/toolkit\n")
        self.pack_and_check()

    @unittest.skipUnless(os.path.isfile(REAL_HOOK_FUNCTIONS), "initramfs-tools is not installed")
    def test_hook_with_initramfs_tools_functions(self):
        result = self.run_hook(REAL_HOOK_FUNCTIONS)
        self.assertEqual(result.returncode, 0, result.stderr)
        # as mkinitramfs lays out a merged-/usr image, so the dynamic loader is found
        for name in ("bin", "lib", "lib64", "sbin"):
            if os.path.isdir(os.path.join(self.image, "usr", name)):
                os.symlink("usr/" + name, os.path.join(self.image, name))
        unpacked = self.pack_and_check()
        if os.geteuid() == 0:  # the image alone (libraries included) must be enough
            out = run(["chroot", unpacked, "/usr/bin/toolkit", "--list"])
            self.assertEqual((out.returncode, out.stdout.decode().split()), (0, applets()), out.stderr)

    @unittest.skipUnless(shutil.which("mkinitramfs") and shutil.which("unmkinitramfs")
                         and os.path.isdir("/etc/initramfs-tools") and os.path.isdir("/lib/modules")
                         and os.listdir("/lib/modules"), "initramfs-tools or a kernel is not installed")
    def test_hook_in_a_real_mkinitramfs_run(self):
        config = os.path.join(self.tmp, "config")
        shutil.copytree("/etc/initramfs-tools", config, symlinks=True)
        with open(os.path.join(config, "conf.d", "zz-toolkit-test"), "w", encoding="utf-8") as conf:
            conf.write("MODULES=list\nCOMPRESS=gzip\n")  # small and quick
        os.makedirs(os.path.join(config, "hooks"), exist_ok=True)
        shutil.copy(HOOK, os.path.join(config, "hooks", "toolkit"))
        version = sorted(os.listdir("/lib/modules"))[-1]
        image = os.path.join(self.tmp, "initrd.img")
        env = dict(os.environ, TOOLKIT_BINARY=TOOLKIT)
        made = run(["mkinitramfs", "-d", config, "-o", image, version], env=env)
        self.assertEqual(made.returncode, 0, made.stderr)
        unpacked = os.path.join(self.tmp, "unpacked")
        self.assertEqual(run(["unmkinitramfs", image, unpacked]).returncode, 0)
        root = os.path.join(unpacked, "main") if os.path.isdir(os.path.join(unpacked, "main")) else unpacked
        binary = os.path.join(root, "usr/bin/toolkit")
        self.assertEqual(run(["cmp", binary, TOOLKIT]).returncode, 0, "binary differs")
        for applet in applets():
            link = os.path.join(root, "usr/bin", applet)
            self.assertEqual(os.readlink(link), "toolkit")
            self.assertEqual(os.path.realpath(link), os.path.realpath(binary))

    def test_hook_without_binary_warns_and_adds_nothing(self):
        result = self.run_hook(self.stub(STUB_INITRAMFS_TOOLS), os.path.join(self.tmp, "missing"))
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stderr.decode(), r"^W: toolkit: .*missing is not an executable file")
        self.assertEqual(os.listdir(self.image), [])

    # dracut
    def test_dracut_check_only_on_request(self):
        self.assertEqual(self.run_dracut("check").returncode, 255)
        self.assertEqual(self.run_dracut("check", os.path.join(self.tmp, "missing")).returncode, 1)
        self.assertEqual(self.run_dracut("depends").returncode, 0)

    def test_dracut_install(self):
        result = self.run_dracut("install")
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        with open(self.log, encoding="utf-8") as log:
            self.assertEqual(log.read(), f"inst_binary {TOOLKIT} /usr/bin/toolkit\n")
        self.pack_and_check()


if __name__ == "__main__":
    if shutil.which("cpio") is None:
        print("cpio is not installed")
        sys.exit(77)
    unittest.main(verbosity=2)
