#!/usr/bin/env python3
"""The container's file tree, assembled in a directory, running its example chain under chroot.

    tests/packaging/container.py [STATIC_BUILD_DIR]

STATIC_BUILD_DIR (default: TOOLKIT_BUILD_DIR when TOOLKIT_STATIC=1, else
./build-static) must be a static build with prefix /usr. The tree is made by
packaging/container/make-rootfs.sh, as the Containerfile's build stage does;
the CMD of the Containerfile is run with chroot; a client on the host connects
to the socket, and the reply, the socket's owner and mode and the account the
handler runs as are checked. Needs root (chroot) and busybox-static; exits 77
(skipped) without them.
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.abspath(os.environ.get("TOOLKIT_SOURCE_DIR",
                                        os.path.join(os.path.dirname(__file__), "..", "..")))
CONTAINER = os.path.join(SOURCE, "packaging", "container")
BUSYBOX = "/bin/busybox"


def skip(why):
    print(f"container: SKIP: {why}")
    sys.exit(77)


def fail(why):
    print(f"container: FAIL: {why}")
    sys.exit(1)


def containerfile_cmd():
    with open(os.path.join(CONTAINER, "Containerfile"), encoding="utf-8") as handle:
        text = handle.read().replace("\\\n", "")
    commands = re.findall(r"(?m)^CMD (\[.*\])$", text)
    if len(commands) != 1:
        fail("the Containerfile must have exactly one CMD in exec (JSON) form")
    return json.loads(commands[0])


def build_dir():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    if os.environ.get("TOOLKIT_STATIC") == "1":
        return os.environ["TOOLKIT_BUILD_DIR"]
    if "TOOLKIT_BUILD_DIR" in os.environ:
        skip("this build is not static (configure with -Dstatic=true, or run the script by hand)")
    return os.path.join(SOURCE, "build-static")


def prefix_is_usr(build):
    info = subprocess.run(["meson", "introspect", "--buildoptions", build], stdout=subprocess.PIPE,
                          text=True, timeout=60, check=True).stdout
    return any(o["name"] == "prefix" and o["value"] == "/usr" for o in json.loads(info))


# A container entry point in the same empty root: process state set up by one
# chain, one execve, nothing in the image but toolkit, busybox and two account files.
ENTRY_POINT = ["envdir", "/etc/app-env", "softlimit", "-m", "64000000", "-o", "=", "setlock", "-n",
               "/run/app.lock", "chdir", "/tmp", "umask", "027", "setuidgid", "toolkit",
               "/bin/busybox", "sh", "-c", 'echo "$GREETING $(pwd) $(umask) $(busybox id -u)"']


def entry_point(rootfs, env):
    os.mkdir(os.path.join(rootfs, "etc/app-env"))
    with open(os.path.join(rootfs, "etc/app-env/GREETING"), "w") as handle:
        handle.write("hello\n")
    expected = "hello /tmp 0027 100\n"
    # Started in the root by chroot(8), and by toolkit's own chroot from outside
    # it, where account names would be looked up outside the root: numbers then.
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    outside = [word if word != "toolkit" else "100:100" for word in ENTRY_POINT]
    for how, chain in (([chroot, rootfs], ENTRY_POINT),
                       ([os.path.join(rootfs, "usr/bin/toolkit"), "chroot", rootfs], outside)):
        done = subprocess.run(how + chain, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=30)
        if (done.returncode, done.stdout, done.stderr) != (0, expected, ""):
            fail(f"{' '.join(how[:2])} {' '.join(ENTRY_POINT[:4])} ...: status {done.returncode}, "
                 f"stdout {done.stdout!r}, stderr {done.stderr!r}; wanted {expected!r}")
    if not os.path.isfile(os.path.join(rootfs, "run/app.lock")):
        fail("setlock left no /run/app.lock in the root")


def main():
    if os.geteuid() != 0:
        skip("chroot needs root")
    if not os.path.isfile(BUSYBOX):
        skip(f"{BUSYBOX} (busybox-static) is not installed")
    build = build_dir()
    if not os.path.isfile(os.path.join(build, "toolkit")):
        fail(f"no static build in {build} (meson setup {build} -Dstatic=true --prefix=/usr)")
    if not prefix_is_usr(build):
        if len(sys.argv) == 1 and "TOOLKIT_BUILD_DIR" in os.environ:
            skip(f"{build} has a prefix other than /usr")
        # the image puts toolkit in /usr/bin; a scratch copy of the build would
        # need a full rebuild, so ask for the right one instead
        fail(f"{build} has a prefix other than /usr (meson configure {build} --prefix=/usr)")
    command = containerfile_cmd()
    scratch = tempfile.mkdtemp(prefix="toolkit-container-")
    rootfs = os.path.join(scratch, "rootfs")
    server = None
    try:
        done = subprocess.run([os.path.join(CONTAINER, "make-rootfs.sh"), rootfs, build, BUSYBOX],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            fail("make-rootfs.sh: " + done.stdout)
        applets = subprocess.run([os.path.join(rootfs, "usr/bin/toolkit"), "--list"],
                                 stdout=subprocess.PIPE, text=True, timeout=30, check=True).stdout.split()
        for applet in applets:
            if os.readlink(os.path.join(rootfs, "usr/bin", applet)) != "toolkit":
                fail(f"usr/bin/{applet} is not a link to toolkit")
        top = sorted(os.listdir(rootfs))
        if top != ["bin", "etc", "run", "tmp", "usr"]:
            fail(f"unexpected top-level tree {top}")

        log = open(os.path.join(scratch, "server.log"), "w+b")
        env = {"PATH": "/usr/bin:/bin"}  # what ENV in the Containerfile sets, nothing else
        server = subprocess.Popen([shutil.which("chroot") or "/usr/sbin/chroot", rootfs] + command, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log, env=env, start_new_session=True)
        path = os.path.join(rootfs, "run/toolkit/echo.sock")
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                fail(f"the service did not create its socket (status {server.poll()}): {log.read()!r}")
            time.sleep(0.05)
        node = os.lstat(path)
        if not stat.S_ISSOCK(node.st_mode) or stat.S_IMODE(node.st_mode) != 0o660 or node.st_gid != 100:
            fail(f"socket node: mode {oct(node.st_mode)} gid {node.st_gid}, wanted socket 0660 gid 100")
        replies = []
        for word in ("hello", "again"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(20)
                client.connect(path)
                client.sendall(word.encode() + b"\n")
                client.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := client.recv(4096):
                    data += chunk
                replies.append(data.decode())
        expected = [f"echo: {w} (served as uid 100 to uid 0)\n" for w in ("hello", "again")]
        if replies != expected:
            log.seek(0)
            fail(f"replies {replies!r}, wanted {expected!r}; server said {log.read()!r}")
        if server.poll() is not None:
            fail(f"the service ended (status {server.returncode}) after serving")
        entry_point(rootfs, env)
        print("container: PASS: " + " ".join(command[:6]) + " ... -> " + replies[0].strip())
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
