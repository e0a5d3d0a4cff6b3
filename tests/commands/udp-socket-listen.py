"""End-to-end tests of udp-socket-listen: the chain ends in a program that
receives datagrams on descriptor 3 (a Python probe, a libsystemd consumer)
sent by real senders (Python, socat) on 127.0.0.1 and ::1 only."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, USAGE, ReadinessTestCase, ToolkitTestCase, applet_link,
                     main, probe, socket_port, which)

APPLET = "udp-socket-listen"

# Describes descriptor 3, writes its port to argv[1], then receives argv[2]
# datagrams and prints each with the sender's address.
RECEIVE = textwrap.dedent("""
    import fcntl, os, socket, sys
    s = socket.socket(fileno=3)
    s.settimeout(20)
    print(s.family.name, s.type.name, s.getsockname()[0],
          "reuseaddr", s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
          "reuseport", s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT),
          "cloexec", bool(fcntl.fcntl(3, fcntl.F_GETFD) & fcntl.FD_CLOEXEC),
          "blocking", s.getblocking(), flush=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    for _ in range(int(sys.argv[2])):
        data, sender = s.recvfrom(4096)
        print(data.decode(), sender[0], flush=True)
""")


class UdpListenTest(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-udp-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def start(self, options, host, count):
        """The chain with RECEIVE at its end; returns the process and the port it got."""
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        process = subprocess.Popen([applet_link(APPLET), *options, host, "0"] + probe(RECEIVE) +
                                   [port_file, str(count)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        for _ in range(1000):  # bounded: 20 s at most
            if os.path.exists(port_file) or process.poll() is not None:
                break
            time.sleep(0.02)
        with open(port_file) as f:
            return process, int(f.read())

    def finish(self, process):
        out, err = process.communicate(timeout=20)
        self.assertEqual((process.returncode, err), (0, ""))
        return out.splitlines()

    def fresh(self, path):
        if os.path.lexists(path):
            os.unlink(path)
        return path

    def send(self, family, host, port, data):
        with socket.socket(family, socket.SOCK_DGRAM) as sender:
            sender.sendto(data, (host, port))

    def test_datagrams_from_ipv4_and_ipv6_on_one_dual_stack_socket(self):
        process, port = self.start([], "::", 2)
        self.send(socket.AF_INET, "127.0.0.1", port, b"from-v4")
        self.send(socket.AF_INET6, "::1", port, b"from-v6")
        lines = self.finish(process)
        self.assertEqual(lines[0], "AF_INET6 SOCK_DGRAM :: reuseaddr 0 reuseport 0 cloexec False blocking True")
        self.assertEqual(sorted(lines[1:]), ["from-v4 ::ffff:127.0.0.1", "from-v6 ::1"])

    def test_socat_sends_to_an_ipv4_socket(self):
        socat = which("socat")
        process, port = self.start(["--reuse-port"], "127.0.0.1", 1)
        sent = subprocess.run([socat, "-u", "-", f"UDP4-SENDTO:127.0.0.1:{port}"], input=b"via socat",
                              capture_output=True, timeout=20)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        lines = self.finish(process)
        self.assertEqual(lines, ["AF_INET SOCK_DGRAM 127.0.0.1 reuseaddr 0 reuseport 1 cloexec False blocking True",
                                 "via socat 127.0.0.1"])

    def test_ipv6_only_refuses_ipv4_senders(self):
        process, port = self.start(["--ipv6-only"], "::", 1)
        self.send(socket.AF_INET, "127.0.0.1", port, b"lost")  # nobody there on IPv4
        self.send(socket.AF_INET6, "::1", port, b"kept")
        self.assertEqual(self.finish(process)[1:], ["kept ::1"])

    def test_a_libsystemd_consumer_finds_its_datagram_socket(self):
        cc = which("cc")
        source = os.path.join(self.dir, "consumer.c")
        binary = os.path.join(self.dir, "consumer")
        with open(source, "w") as f:
            f.write(textwrap.dedent("""
                #include <stdio.h>
                #include <stdlib.h>
                #include <sys/socket.h>
                #include <systemd/sd-daemon.h>
                int main(void) {
                    char **names = NULL;
                    int n = sd_listen_fds_with_names(1, &names);
                    printf("%d %s %d\\n", n, n > 0 ? names[0] : "-",
                           n > 0 ? sd_is_socket_inet(3, AF_INET, SOCK_DGRAM, -1, 0) : -1);
                    return 0;
                }
            """))
        built = subprocess.run([cc, "-o", binary, source, "-lsystemd"], capture_output=True, text=True)
        if built.returncode != 0:
            self.skipTest(f"cannot build against libsystemd: {built.stderr.strip()}")
        self.case(APPLET, ["--systemd-compatibility", "--name", "dns", "127.0.0.1", "0", binary],
                  stdout="1 dns 1\n")

    def test_readiness_once_bound(self):
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(receiver.close)
        address = os.path.join(self.dir, "notify")
        receiver.bind(address)
        receiver.settimeout(20)
        self.case(APPLET, ["--sd-notify", "127.0.0.1", "0", "true"], env=dict(os.environ, NOTIFY_SOCKET=address))
        self.assertEqual(receiver.recv(64), b"READY=1")
        self.assertEqual(receiver.recv(64), b"READY=1")  # one per run: both forms ran

    def test_reuse_port_lets_two_sockets_share_the_port(self):
        process, port = self.start(["--reuse-port"], "127.0.0.1", 1)
        port = str(port)
        # While the first one holds the port: a second one binds it with the option, not without.
        self.case(APPLET, ["--reuse-port", "127.0.0.1", port, "true"])
        self.case(APPLET, ["127.0.0.1", port, "true"], status=FAILURE,
                  fatal=(f"127.0.0.1 port {port}", "Address already in use"))
        self.send(socket.AF_INET, "127.0.0.1", int(port), b"still-there")
        self.assertEqual(self.finish(process)[1:], ["still-there 127.0.0.1"])

    def test_a_port_held_without_the_option_cannot_be_shared(self):
        process, port = self.start([], "127.0.0.1", 1)
        self.case(APPLET, ["--reuse-port", "127.0.0.1", str(port), "true"], status=FAILURE,
                  fatal=(f"127.0.0.1 port {port}", "Address already in use"))
        self.send(socket.AF_INET, "127.0.0.1", port, b"done")
        self.finish(process)

    def test_stacked_after_another_listen_applet(self):
        node = os.path.join(self.dir, "s")
        code = ("import os, socket\n"
                "print(os.environ['LISTEN_FDS'], os.environ['LISTEN_FDNAMES'],"
                " os.environ['LISTEN_PID'] == str(os.getpid()), os.environ['UPSTART_FDS'])\n"
                "s = socket.socket(fileno=4)\n"
                "print(s.family.name, s.type.name, s.getsockname()[0])\n"
                "s.detach()\n")
        self.case("local-stream-socket-listen",
                  lambda form: ["--systemd-compatibility", "--name", "control", self.fresh(node),
                                APPLET, "--systemd-compatibility", "--upstart-compatibility", "--name", "dns",
                                "::1", "0"] + probe(code),
                  stdout="2 control:dns True 4\nAF_INET6 SOCK_DGRAM ::1\n")

    def test_upstart_compatibility(self):
        self.case(APPLET, ["--upstart-compatibility", "127.0.0.1", "0", "sh", "-c",
                           'echo "$UPSTART_FDS $UPSTART_EVENTS ${LISTEN_FDS-unset}"'],
                  stdout="3 socket unset\n", env={k: v for k, v in os.environ.items() if k != "LISTEN_FDS"})

    def test_usage_errors(self):
        self.case(APPLET, ["localhost", "53", "true"], status=USAGE, fatal=("HOST", "numeric"))
        self.case(APPLET, ["127.0.0.1", "65536", "true"], status=USAGE, fatal="PORT")
        self.case(APPLET, ["--backlog", "5", "127.0.0.1", "0", "true"], status=USAGE, fatal="--backlog")
        self.case(APPLET, ["--ipv6-only", "127.0.0.1", "0", "true"], status=USAGE, fatal="--ipv6-only")
        self.case(APPLET, ["--ipv6-only", "::ffff:127.0.0.1", "0", "true"], status=USAGE,
                  fatal="--ipv6-only: HOST ::ffff:127.0.0.1 is an IPv4 address")
        self.case(APPLET, ["ff02::1", "0", "true"], status=USAGE, fatal="HOST: ff02::1 is link-local")
        self.case(APPLET, ["127.0.0.1", "0"], status=USAGE, fatal="NEXT-PROG")

    def test_a_port_in_use_is_111(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            port = str(taken.getsockname()[1])
            self.case(APPLET, ["127.0.0.1", port, "true"], status=FAILURE,
                      fatal=("127.0.0.1 port " + port, "Address already in use"))

    def test_next_program_statuses(self):
        self.case(APPLET, ["127.0.0.1", "0", "/nonexistent/prog"], status=NOT_FOUND, fatal="/nonexistent/prog")
        self.case(APPLET, ["127.0.0.1", "0", self.dir], status=CANNOT_RUN, fatal=self.dir)

    def test_help(self):
        results = self.case(APPLET, ["--help"])
        self.assertIn("--reuse-port", results[0].stdout)
        self.assertIn("Process name while it runs: udp-listen", results[0].stdout)

    def test_a_bad_port_after_a_local_listen_leaves_no_node(self):
        node = os.path.join(self.dir, "s")
        result = subprocess.run([applet_link("local-stream-socket-listen"), node, APPLET, "::", "x", "true"],
                                capture_output=True, text=True, timeout=20)
        self.assertFatal(result, APPLET, USAGE, "PORT")
        self.assertFalse(os.path.lexists(node))


class Readiness(ReadinessTestCase):
    """--notify-fd and --sd-notify: the supervisor is told once, and the socket
    is bound by then: a datagram sent at that moment, while the end of the
    chain waits, is the one it then receives."""

    def bound(self, host, family):
        def check(process):
            with socket.socket(family, socket.SOCK_DGRAM) as sender:
                sender.sendto(b"early", (host, socket_port(process.pid)))
        return check

    def test_notify_fd_gets_one_newline_and_is_not_passed_on(self):
        out = self.ready_by_notify_fd([applet_link(APPLET), "--notify-fd", "5", "127.0.0.1", "0"],
                                      self.bound("127.0.0.1", socket.AF_INET), recv=True)
        self.assertEqual(out, "fd 5 closed\ndatagram b'early'\n")

    def test_sd_notify_sends_one_ready_from_the_process(self):
        out = self.ready_by_sd_notify([applet_link(APPLET), "--sd-notify", "::1", "0"],
                                      self.bound("::1", socket.AF_INET6), recv=True)
        self.assertEqual(out, "fd 5 closed\ndatagram b'early'\n")

if __name__ == "__main__":
    main()
