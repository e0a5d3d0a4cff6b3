"""Shared helpers for the end-to-end tests: run the real toolkit binary, under
an applet's name (a symlink) and as `toolkit APPLET`, and observe what the end
of the chain saw."""

import atexit
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

TOOLKIT = os.path.abspath(os.environ.get("TOOLKIT", "build/toolkit"))
SOURCE_DIR = os.environ.get("TOOLKIT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
STATIC = os.environ.get("TOOLKIT_STATIC") == "1"

# Exit statuses documented in every manual page.
USAGE, FAILURE, CANNOT_RUN, NOT_FOUND = 100, 111, 126, 127

_link_dir = tempfile.mkdtemp(prefix="toolkit-links-")
os.chmod(_link_dir, 0o755)  # links must stay usable after setuidgid drops root
atexit.register(shutil.rmtree, _link_dir, ignore_errors=True)


def applet_link(name):
    """A symlink called NAME pointing at the binary (made once per test run)."""
    path = os.path.join(_link_dir, name)
    if not os.path.lexists(path):
        os.symlink(TOOLKIT, path)
    return path


_public_dir = None


def public_toolkit():
    """A copy of the binary in a directory every user can search, for a test that
    runs it as another user (nobody): the tree it was built in may sit under a
    0700 home or a `mktemp -d`, which a link into it cannot get through."""
    global _public_dir
    if _public_dir is None:
        _public_dir = tempfile.mkdtemp(prefix="toolkit-public-")
        os.chmod(_public_dir, 0o755)
        atexit.register(shutil.rmtree, _public_dir, ignore_errors=True)
        shutil.copy2(TOOLKIT, os.path.join(_public_dir, "toolkit"))
    return os.path.join(_public_dir, "toolkit")


def forms(applet, *, public=False):
    """Both ways of invoking APPLET: (label, argv prefix). PUBLIC: through
    public_toolkit() (and a link beside it), for runs as another user."""
    if not public:
        return [("symlink", [applet_link(applet)]), ("multicall", [TOOLKIT, applet])]
    binary = public_toolkit()
    link = os.path.join(os.path.dirname(binary), applet)
    if not os.path.lexists(link):
        os.symlink("toolkit", link)
    return [("symlink", [link]), ("multicall", [binary, applet])]


def run(argv, *, env=None, input=None, timeout=20, pass_fds=(), cwd=None, extra_env=None, **kwargs):
    """Run ARGV and return the CompletedProcess (stdout/stderr as text)."""
    if env is None:
        env = dict(os.environ)
    if extra_env:
        env = dict(env, **extra_env)
    return subprocess.run(argv, env=env, input=input, timeout=timeout, pass_fds=pass_fds,
                          cwd=cwd, capture_output=True, text=True, **kwargs)


def which(program):
    path = shutil.which(program)
    if path is None:
        raise unittest.SkipTest(f"{program} is not installed")
    return path


PYTHON = sys.executable


def children(pid):
    """(pid, state) of every child of PID, zombies included, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(entry), fields[0]))
    return found


def open_descriptors(pid):
    """What each open descriptor of process PID refers to, from /proc."""
    found = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            pass  # closed while we looked
    return found


WAIT_LIMIT = 15  # seconds any bounded wait may take


def wait_for(predicate, what, limit=WAIT_LIMIT):
    """Poll PREDICATE (bounded in time and count) until it is true; its value."""
    deadline = time.monotonic() + limit
    for _ in range(int(limit * 50)):
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def stopped_by_strace(tracer, trace_path, limit=WAIT_LIMIT):
    """The pid of the program that TRACER (strace -f -e signal=SIGSTOP -o
    TRACE_PATH, with an inject=...:signal=SIGSTOP) has stopped, once strace
    reports the stop. A process state of T or t does not tell: a tracee is in
    t at every system call strace looks at on its way."""
    def stopped():
        if tracer.poll() is not None:
            raise AssertionError(f"the traced program ended before it was stopped ({tracer.returncode})")
        try:
            with open(trace_path) as f:
                # strace pads the pid column: one space or more after it.
                match = re.search(r"^(\d+) +--- stopped by SIGSTOP ---$", f.read(), re.M)
        except FileNotFoundError:  # strace has not made it yet
            return None
        return int(match.group(1)) if match else None
    return wait_for(stopped, "the traced program to stop", limit)


def listening(path):
    """True once a local socket bound to PATH listens: the node exists from
    bind(), a moment before listen(), and a client connecting in between is
    refused. /proc/net/unix marks a listening socket with __SO_ACCEPTCON."""
    with open("/proc/net/unix") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                return True
    return False


def probe(code):
    """argv of a small Python program, for the end of a chain."""
    return [PYTHON, "-c", code]


def socket_port(pid, fd=3):
    """The local port of the TCP or UDP socket on descriptor FD of process PID
    (from /proc: the socket's inode in the kernel's tables)."""
    inode = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}")).group(1)
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/net/{table}") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[9] == inode:
                    return int(fields[1].rsplit(":", 1)[1], 16)
    raise AssertionError(f"descriptor {fd} of process {pid} is no TCP or UDP socket")


# Python that prints the descriptors open in the program running it, on one line
# (the one os.listdir used is gone by then).
LIST_FDS = textwrap.dedent("""
    import os
    def is_open(fd):
        try:
            os.fstat(fd)
            return True
        except OSError:
            return False
    print(" ".join(str(fd) for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")) if is_open(fd)))
""")

# The end of a client chain: LIST_FDS, then whether 6 and 7 are one socket,
# and what each is.
DESCRIBE_CLIENT = LIST_FDS + textwrap.dedent("""
    import fcntl, socket
    print("same socket", os.fstat(6).st_ino == os.fstat(7).st_ino)
    for fd in (6, 7):
        s = socket.socket(fileno=fd)
        print(fd, s.family.name, s.type.name, "blocking", s.getblocking(),
              "cloexec", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
        s.detach()
""")

# A client chain's end that sends a line on 7 and prints the line that comes back on 6.
TALK = ["sh", "-c", 'printf "PING\\n" >&7; head -n1 <&6']


# The program at the end of a readiness test's chain. It waits for a line on
# its standard input (the test checks the socket meanwhile), then says whether
# descriptor argv[1] reached it and, with argv[2] "recv", prints the datagram
# waiting on descriptor 3 (one sent while it waited).
HOLD = textwrap.dedent("""
    import os, socket, sys
    sys.stdin.readline()
    print("fd", sys.argv[1], "open" if os.path.exists("/proc/self/fd/" + sys.argv[1]) else "closed")
    if sys.argv[2:] == ["recv"]:
        s = socket.socket(fileno=3)
        s.settimeout(10)
        print("datagram", s.recv(100))
        s.detach()
""")


class ToolkitTestCase(unittest.TestCase):
    """assertions shared by the command tests"""

    def assertExit(self, result, status, msg=None):
        self.assertEqual(result.returncode, status,
                         msg or f"exit {result.returncode}, wanted {status}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}")

    def assertFatal(self, result, applet, status, *fragments):
        """Exit STATUS and exactly one stderr line 'APPLET: FATAL: ...' holding every fragment."""
        self.assertExit(result, status)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"wanted one line on stderr, got {result.stderr!r}")
        self.assertTrue(lines[0].startswith(f"{applet}: FATAL: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def case(self, applet, args, *, status=0, stdout=None, stderr=None, fatal=None, fatal_by=None,
             wrap=None, before=None, then=None, public=False, **run_kwargs):
        """One test case in one call, as toybox's testcmd: run APPLET ARGS in both invocation forms
        (a link named APPLET, and `toolkit APPLET`) and check each: the exit
        STATUS, stdout when STDOUT is given, and on stderr either exactly one
        'APPLET: FATAL: ...' line holding every fragment of FATAL (a string or a
        tuple), or exactly STDERR; with neither, nothing at all when STATUS is 0.
        The FATAL line starts with FATAL_BY when a later link of the chain
        (another applet) is the one that fails.
        WRAP(argv) puts a launcher around the command. ARGS may be a function
        of the form's name ("symlink", "multicall") when each form needs its own
        (a fresh path, say); BEFORE(form) prepares each run (a file in the
        way, say) and THEN(result, form) checks more after it.
        PUBLIC runs a copy of the binary that every user can reach (see
        public_toolkit()), for a run that starts as another user (preexec_fn=).
        Other keywords go to run() (env=, cwd=, input=, ...). Returns the
        results, the link form first."""
        if isinstance(fatal, str):
            fatal = (fatal,)
        results = []
        for label, prefix in forms(applet, public=public):
            if before is not None:
                before(label)
            argv = prefix + list(args(label) if callable(args) else args)
            result = run(wrap(argv) if wrap else argv, **run_kwargs)
            with self.subTest(form=label):
                if fatal is not None:
                    self.assertFatal(result, fatal_by or applet, status, *fatal)
                else:
                    self.assertExit(result, status)
                    if stderr is not None or status == 0:
                        self.assertEqual(result.stderr, stderr or "")
                if stdout is not None:
                    self.assertEqual(result.stdout, stdout)
                if then is not None:
                    then(result, label)
            results.append(result)
        return results

    def assertClean(self, result, stdout=None):
        """Exit 0, nothing on stderr, and stdout as given."""
        self.assertExit(result, 0)
        self.assertEqual(result.stderr, "")
        if stdout is not None:
            self.assertEqual(result.stdout, stdout)


class ReadinessTestCase(ToolkitTestCase):
    """What a supervisor sees of a chain started with --notify-fd or
    --sd-notify: the pipe of s6's notification descriptor, and a NOTIFY_SOCKET
    receiver that sees each datagram's sender (SO_PASSCRED)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-ready-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, argv, env=None, notify_fd=None, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              reader=True):
        """ARGV in its own process group; with NOTIFY_FD, the write end of a pipe on that
        descriptor. Returns the process and the pipe's read end (or None; without
        READER, the read end is closed before ARGV starts)."""
        read_end = saved = None
        passed = ()
        if notify_fd is not None:
            # Both ends well away from NOTIFY_FD, which the write end is then
            # copied to in this process too, for a moment: subprocess keeps
            # only the descriptors it is given, at the numbers they have.
            ends = os.pipe()
            read_end, pipe_write = (fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 100) for end in ends)
            for end in ends:
                os.close(end)
            if not reader:
                os.close(read_end)
                read_end = None
            try:
                saved = fcntl.fcntl(notify_fd, fcntl.F_DUPFD_CLOEXEC, 100)
            except OSError:
                pass  # nothing of ours there
            os.dup2(pipe_write, notify_fd)
            os.close(pipe_write)
            passed = (notify_fd,)
        try:
            process = subprocess.Popen(argv, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                       start_new_session=True, pass_fds=passed)
        finally:
            if notify_fd is not None:
                if saved is None:
                    os.close(notify_fd)
                else:
                    os.dup2(saved, notify_fd, inheritable=False)
                    os.close(saved)

        def stop():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=20)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream:
                    stream.close()
        self.addCleanup(stop)
        return process, read_end

    def receiver(self, name="notify"):
        """A NOTIFY_SOCKET: a datagram socket bound to NAME in the test's directory (or
        @NAME, abstract). Returns it and the value for NOTIFY_SOCKET."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        address = self.path(name) if not name.startswith("@") else "\0" + name[1:]
        sock.bind(address)
        sock.settimeout(20)
        self.addCleanup(sock.close)
        return sock, name if name.startswith("@") else address

    def datagrams(self, sock, wait):
        """(data, sender pid) of every datagram, waiting up to WAIT seconds for the first."""
        found = []
        sock.settimeout(wait)
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(64, socket.CMSG_SPACE(12))
            except (socket.timeout, BlockingIOError):
                return found
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(payload[:4], sys.byteorder)
            found.append((data, pid))
            sock.settimeout(0.3)

    def release(self, process):
        """Let HOLD go on; what it printed."""
        out, err = process.communicate(b"go\n", timeout=20)
        self.assertEqual((process.returncode, err), (0, b""))
        return out.decode()

    def ready_by_notify_fd(self, chain, at_ready, fd=5, recv=False):
        """CHAIN (its links, without the program at its end) with --notify-fd FD
        given, ended by HOLD: exactly one newline comes on the pipe, then its
        end (nobody else holds the write end); AT_READY(process) checks the
        socket then, while HOLD waits; and HOLD did not get descriptor FD."""
        process, read_end = self.start(chain + probe(HOLD) + [str(fd)] + (["recv"] if recv else []),
                                       notify_fd=fd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.read(), b"\n")
        at_ready(process)
        return self.release(process)

    def ready_by_sd_notify(self, chain, at_ready, recv=False):
        """CHAIN with --sd-notify given, ended by HOLD: one READY=1 comes, from
        the process itself; AT_READY(process) checks the socket then, while
        HOLD waits; no other datagram ever comes."""
        receiver, address = self.receiver()
        process, _ = self.start(chain + probe(HOLD) + ["5"] + (["recv"] if recv else []),
                                env=dict(os.environ, NOTIFY_SOCKET=address),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        got = self.datagrams(receiver, WAIT_LIMIT)
        self.assertEqual(got, [(b"READY=1", process.pid)])
        at_ready(process)
        out = self.release(process)
        self.assertEqual(self.datagrams(receiver, 0.5), [], "one READY=1 per chain")
        return out


def main():
    unittest.main(verbosity=2)
