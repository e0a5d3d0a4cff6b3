"""End-to-end tests of tcp-socket-listen: each chain ends in a program that
reports what it inherited (a Python probe on descriptor 3, printenv,
libsystemd), or serves real clients (Python, socat, busybox nc, curl,
tcpclient) on 127.0.0.1 and ::1 only."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, PYTHON, TOOLKIT, USAGE, ReadinessTestCase, ToolkitTestCase,
                     applet_link, main, probe, socket_port, which)

APPLET = "tcp-socket-listen"
LOCAL = "local-stream-socket-listen"

# What the end of the chain inherited on descriptor 3 (and 4, when asked).
DESCRIBE = textwrap.dedent("""
    import fcntl, socket, sys
    for fd in [int(n) for n in sys.argv[1:]] or [3]:
        s = socket.socket(fileno=fd)
        name = s.getsockname()
        print(s.family.name, s.type.name, name[0], "port", "0" if name[1] == 0 else "chosen")
        print("listening", s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
              "blocking", s.getblocking(),
              "cloexec", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
        print("reuseaddr", s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
              "reuseport", s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT),
              "device", repr(s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(b"\\0").decode()))
        if s.family == socket.AF_INET6:
            print("v6only", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
        s.detach()
""")

# The descriptors the end of the chain has.
LIST_FDS = "import os; print(' '.join(sorted(os.listdir('/proc/self/fd'), key=int)[:-1]))"

# A server on descriptor 3 for the clients in argv[1] (JSON: a list of argv
# lists, "{port}" standing for the port the kernel chose): each client is
# started, its one connection accepted, the line it sent answered with
# "echo:LINE"; one line per client: the peer address as the socket API gives
# it, what was read, what the client printed, and its exit status.
SERVE = textwrap.dedent("""
    import json, socket, subprocess, sys
    s = socket.socket(fileno=3)
    s.settimeout(20)
    port = str(s.getsockname()[1])
    for command in json.loads(sys.argv[1]):
        client = subprocess.Popen([w.replace("{port}", port) for w in command], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        client.stdin.write(b"hello\\n")
        client.stdin.close()
        client.stdin = None  # written already: communicate() only reads
        connection, peer = s.accept()
        connection.settimeout(20)
        line = connection.makefile("rb").readline().strip()
        connection.sendall(b"echo:" + line + b"\\n")
        connection.close()
        out, err = client.communicate(timeout=20)
        print(peer[0], line.decode(), out.decode().strip(), client.returncode, err.decode().strip())
""")

# A Python client: connect to HOST PORT, send what stdin holds, print the answer.
CLIENT = textwrap.dedent("""
    import socket, sys
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20) as c:
        c.sendall(sys.stdin.buffer.read())
        print(c.makefile().readline().strip())
""")

# Which of the addresses in argv a client can connect to, on descriptor 3's port.
TRY = textwrap.dedent("""
    import socket, sys
    listener = socket.socket(fileno=3)
    port = listener.getsockname()[1]
    for host in sys.argv[1:]:
        try:
            socket.create_connection((host, port), timeout=20).close()
            print(host, "connected")
        except ConnectionRefusedError:
            print(host, "refused")
""")

# Starts a second server on the port of descriptor 3 (kept open on 9), with argv[1:]:
# "{port}" there stands for that port.
SECOND = textwrap.dedent("""
    import os, socket, sys
    listener = socket.socket(fileno=3)
    port = str(listener.getsockname()[1])
    os.dup2(3, 9)  # inheritable
    listener.detach()
    os.execv(sys.argv[1], [w.replace("{port}", port) for w in sys.argv[1:]])
""")

# The backlog listen(2) was given: ss shows it as Send-Q of a listening socket.
BACKLOG = textwrap.dedent("""
    import socket, subprocess
    listener = socket.socket(fileno=3)
    port = listener.getsockname()[1]
    out = subprocess.run(["ss", "-tlnH", "sport = :%d" % port], capture_output=True, text=True).stdout
    print(out.split()[2])
""")

# A daemon written against libsystemd, given one local and one TCP socket.
SD_PROGRAM = textwrap.dedent(r"""
    #include <stdio.h>
    #include <sys/socket.h>
    #include <systemd/sd-daemon.h>
    int main(void) {
        char** names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) { printf("error %d\n", n); return 1; }
        printf("count %d\n", n);
        for (int i = 0; i < n; ++i) {
            int fd = SD_LISTEN_FDS_START + i;
            printf("fd %d %s unix %d inet %d inet4 %d\n", fd, names[i],
                   sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0),
                   sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0),
                   sd_is_socket_inet(fd, AF_INET, SOCK_STREAM, 1, 0));
        }
        return 0;
    }
""")


def serve(*clients):
    return probe(SERVE) + [json.dumps(list(clients))]


class TcpListenTest(ToolkitTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="toolkit-tcp-listen-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def assertNoFile(self, path):
        self.assertFalse(os.path.lexists(path), f"{path} was left behind")

    # --- the socket the next program inherits -------------------------------

    def test_ipv4_socket_on_fd3(self):
        self.case(APPLET, ["127.0.0.1", "0"] + probe(DESCRIBE),
                  stdout="AF_INET SOCK_STREAM 127.0.0.1 port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device ''\n")

    def test_ipv6_socket_on_fd3(self):
        for host in ("::1", "::"):
            with self.subTest(host=host):
                # The kernel makes a socket bound to one IPv6 address IPv6-only.
                self.case(APPLET, [host, "0"] + probe(DESCRIBE),
                          stdout=f"AF_INET6 SOCK_STREAM {host} port chosen\n"
                                 "listening 1 blocking True cloexec False\n"
                                 f"reuseaddr 1 reuseport 0 device ''\nv6only {int(host == '::1')}\n")

    def test_only_fd3_is_added(self):
        self.case(APPLET, ["127.0.0.1", "0"] + probe(LIST_FDS), stdout="0 1 2 3\n")

    def test_replaces_what_was_on_fd3(self):
        self.case(APPLET, ["127.0.0.1", "0"] + probe(DESCRIBE),
                  wrap=lambda argv: ["sh", "-c", 'exec 3</dev/null; exec "$@"', "sh"] + argv,
                  stdout="AF_INET SOCK_STREAM 127.0.0.1 port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device ''\n")

    def test_a_port_that_is_given_is_the_port(self):
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        self.case(APPLET, ["127.0.0.1", str(port), PYTHON, "-c",
                           "import socket; print(socket.socket(fileno=3).getsockname()[1])"],
                  stdout=f"{port}\n")

    def test_backlog(self):
        which("ss")
        self.case(APPLET, ["127.0.0.1", "0"] + probe(BACKLOG), stdout="20\n")
        self.case(APPLET, ["-b", "7", "127.0.0.1", "0"] + probe(BACKLOG), stdout="7\n")
        self.case(APPLET, ["--backlog=0x20", "::1", "0"] + probe(BACKLOG), stdout="32\n")

    def test_ipv6_only(self):
        self.case(APPLET, ["--ipv6-only", "::", "0"] + probe(DESCRIBE),
                  stdout="AF_INET6 SOCK_STREAM :: port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device ''\nv6only 1\n")

    def test_bind_to_device(self):
        self.case(APPLET, ["--bind-to-device", "lo", "127.0.0.1", "0"] + probe(DESCRIBE),
                  stdout="AF_INET SOCK_STREAM 127.0.0.1 port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device 'lo'\n")
        self.case(APPLET, ["--bind-to-device", "lo", "::1", "0"] + probe(TRY) + ["::1"],
                  stdout="::1 connected\n")

    def test_free_bind_takes_an_address_no_interface_has(self):
        # Documentation addresses (RFC 5737, RFC 3849): on no interface here.
        # Binding sends nothing anywhere.
        for host in ("192.0.2.1", "2001:db8::1"):
            with self.subTest(host=host):
                self.case(APPLET, [host, "0", "true"], status=FAILURE,
                          fatal=(f"{host} port 0", "Cannot assign requested address"))
                self.case(APPLET, ["--free-bind", host, "0", PYTHON, "-c",
                                   "import socket; print(socket.socket(fileno=3).getsockname()[0])"],
                          stdout=host + "\n")

    def test_link_local_address_with_its_interface(self):
        lo = socket.if_nametoindex("lo")
        # Messages name the interface by name, whichever way it was given.
        for scope in ("lo", str(lo)):
            with self.subTest(scope=scope):
                self.case(APPLET, [f"fe80::1%{scope}", "0", "true"], status=FAILURE,
                          fatal="fe80::1%lo port 0: Cannot assign requested address")
                self.case(APPLET, ["--free-bind", f"fe80::1%{scope}", "0", PYTHON, "-c",
                                   "import socket; print(socket.socket(fileno=3).getsockname()[::3])"],
                          stdout=f"('fe80::1', {lo})\n")

    def test_link_local_address_needs_an_interface(self):
        # Refused while planning, before any socket exists, unless --bind-to-device names it.
        for host in ("fe80::1", "ff02::1"):
            with self.subTest(host=host):
                self.case(APPLET, [host, "0", "true"], status=USAGE,
                          fatal=f"HOST: {host} is link-local: give its interface (such as {host}%eth0)")
        # Scope 0 is no interface either; the example drops it.
        self.case(APPLET, ["fe80::1%0", "0", "true"], status=USAGE,
                  fatal="HOST: fe80::1 is link-local: give its interface (such as fe80::1%eth0)")
        lo = socket.if_nametoindex("lo")
        self.case(APPLET, ["--free-bind", "--bind-to-device", "lo", "fe80::1", "0", PYTHON, "-c",
                           "import socket; print(socket.socket(fileno=3).getsockname()[::3])"],
                  stdout=f"('fe80::1', {lo})\n")

    def test_scope_is_an_index_only_when_all_digits(self):
        # An interface name may start with a digit: it is looked up, not read as a number.
        self.case(APPLET, ["::1%9net", "0", "true"], status=FAILURE,
                  fatal="HOST: no network interface 9net")
        self.case(APPLET, ["::1%99999999999", "0", "true"], status=USAGE,
                  fatal="HOST: interface index out of range: 99999999999")

    def test_reuse_port_lets_two_servers_share_a_port(self):
        second = [TOOLKIT, APPLET, "--reuse-port", "127.0.0.1", "{port}"] + probe(DESCRIBE) + ["3", "9"]
        half = ("listening 1 blocking True cloexec False\nreuseaddr 1 reuseport 1 device ''\n")
        self.case(APPLET, ["--reuse-port", "127.0.0.1", "0"] + probe(SECOND) + second,
                  stdout=("AF_INET SOCK_STREAM 127.0.0.1 port chosen\n" + half) * 2)
        # Without it on both, the second bind fails.
        second = [TOOLKIT, APPLET, "127.0.0.1", "{port}", "true"]
        self.case(APPLET, ["--reuse-port", "127.0.0.1", "0"] + probe(SECOND) + second, status=FAILURE,
                  fatal=("127.0.0.1 port ", "Address already in use"))

    # --- real clients ----------------------------------------------------------

    def test_ipv4_and_ipv6_clients_on_one_dual_stack_socket(self):
        self.case(APPLET, ["::", "0"] + serve([PYTHON, "-c", CLIENT, "127.0.0.1", "{port}"],
                                               [PYTHON, "-c", CLIENT, "::1", "{port}"]),
                  stdout="::ffff:127.0.0.1 hello echo:hello 0 \n::1 hello echo:hello 0 \n")

    def test_ipv6_only_refuses_an_ipv4_client(self):
        self.case(APPLET, ["--ipv6-only", "::", "0"] + probe(TRY) + ["127.0.0.1", "::1"],
                  stdout="127.0.0.1 refused\n::1 connected\n")
        self.case(APPLET, ["::", "0"] + probe(TRY) + ["127.0.0.1", "::1"],
                  stdout="127.0.0.1 connected\n::1 connected\n")
        self.case(APPLET, ["127.0.0.1", "0"] + probe(TRY) + ["::1"], stdout="::1 refused\n")

    def test_socat_clients(self):
        socat = which("socat")
        self.case(APPLET, ["::", "0"] + serve([socat, "-", "TCP4:127.0.0.1:{port}"],
                                               [socat, "-", "TCP6:[::1]:{port}"]),
                  stdout="::ffff:127.0.0.1 hello echo:hello 0 \n::1 hello echo:hello 0 \n")

    def test_busybox_nc_clients(self):
        busybox = which("busybox")
        self.case(APPLET, ["::", "0"] + serve([busybox, "nc", "127.0.0.1", "{port}"],
                                               [busybox, "nc", "::1", "{port}"]),
                  stdout="::ffff:127.0.0.1 hello echo:hello 0 \n::1 hello echo:hello 0 \n")

    def test_curl_clients(self):
        curl = which("curl")
        request = "GET / HTTP/1.1"
        self.case(APPLET, ["::", "0"] + serve([curl, "-sS", "--http0.9", "http://127.0.0.1:{port}/"],
                                               [curl, "-sS", "--http0.9", "http://[::1]:{port}/"]),
                  stdout=f"::ffff:127.0.0.1 {request} echo:{request} 0 \n::1 {request} echo:{request} 0 \n")

    def test_tcpclient_client(self):
        tcpclient = which("tcpclient")
        talk = ["sh", "-c", 'read line; echo "$line" >&7; head -n1 <&6']
        self.case(APPLET, ["127.0.0.1", "0"] + serve([tcpclient, "-RHl0", "127.0.0.1", "{port}"] + talk),
                  stdout="127.0.0.1 hello echo:hello 0 \n")

    # --- socket activation: LISTEN_FDS and UPSTART_FDS -----------------------

    def test_systemd_compatibility_alone(self):
        results = self.case(APPLET, ["--systemd-compatibility", "127.0.0.1", "0", "sh", "-c",
                                     'echo "$LISTEN_FDS ${LISTEN_FDNAMES-unset} $(($LISTEN_PID == $$))"'])
        for result in results:
            self.assertEqual(result.stdout, "1 unset 1\n")
        results = self.case(APPLET, ["--systemd-compatibility", "--name", "web", "::1", "0", "sh", "-c",
                                     'echo "$LISTEN_FDS $LISTEN_FDNAMES $(($LISTEN_PID == $$))"'])
        for result in results:
            self.assertEqual(result.stdout, "1 web 1\n")

    def test_without_systemd_compatibility_listen_variables_are_left_alone(self):
        self.case(APPLET, ["127.0.0.1", "0", "printenv", "LISTEN_FDS", "LISTEN_PID"],
                  extra_env={"LISTEN_FDS": "7", "LISTEN_PID": "1"}, stdout="7\n1\n")

    def test_upstart_compatibility(self):
        self.case(APPLET, ["--upstart-compatibility", "127.0.0.1", "0", "printenv", "UPSTART_FDS",
                           "UPSTART_EVENTS"], stdout="3\nsocket\n")
        self.case(APPLET, ["--systemd-compatibility", "127.0.0.1", "0", APPLET, "--systemd-compatibility",
                           "--upstart-compatibility", "::1", "0", "printenv", "UPSTART_FDS"], stdout="4\n")

    def test_two_tcp_listeners_stack(self):
        self.case(APPLET, ["--systemd-compatibility", "127.0.0.1", "0", APPLET, "--systemd-compatibility",
                           "::1", "0"] + probe(DESCRIBE) + ["3", "4"],
                  stdout="AF_INET SOCK_STREAM 127.0.0.1 port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device ''\n"
                         "AF_INET6 SOCK_STREAM ::1 port chosen\n"
                         "listening 1 blocking True cloexec False\n"
                         "reuseaddr 1 reuseport 0 device ''\nv6only 1\n")

    def sd_program(self):
        which("cc")
        which("pkg-config")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libsystemd"], capture_output=True, text=True)
        if flags.returncode != 0:
            self.skipTest("libsystemd-dev is not installed (pkg-config libsystemd failed)")
        source, binary = self.path("sd.c"), self.path("sd")
        with open(source, "w") as f:
            f.write(SD_PROGRAM)
        built = subprocess.run(["cc", "-o", binary, source] + flags.stdout.split(), capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stderr)
        return binary

    def test_local_and_tcp_listeners_stack_for_libsystemd(self):
        program = self.sd_program()
        socket_path = self.path("a")
        self.case(LOCAL, ["--systemd-compatibility", "--name", "a", socket_path, APPLET, "--systemd-compatibility",
                          "--name", "b", "127.0.0.1", "0", program],
                  stdout="count 2\nfd 3 a unix 1 inet 0 inet4 0\nfd 4 b unix 0 inet 1 inet4 1\n")
        os.unlink(socket_path)
        # The other way round, and without names: libsystemd still accepts the set.
        self.case(APPLET, ["--systemd-compatibility", "::", "0", LOCAL, "--systemd-compatibility",
                           socket_path, program],
                  stdout="count 2\nfd 3 unknown unix 0 inet 1 inet4 0\nfd 4 unknown unix 1 inet 0 inet4 0\n")

    # --- usage errors: nothing is made --------------------------------------

    def test_missing_operands(self):
        self.case(APPLET, [], status=USAGE, fatal="HOST: missing operand")
        self.case(APPLET, ["127.0.0.1"], status=USAGE, fatal="PORT: missing operand")
        self.case(APPLET, ["127.0.0.1", "0"], status=USAGE, fatal="NEXT-PROG: missing next program")

    def test_host_names_are_refused(self):
        for name in ("localhost", "example.com"):
            with self.subTest(name=name):
                self.case(APPLET, [name, "80", "true"], status=USAGE,
                          fatal=(f"HOST: {name} is a host name", "numeric address"))

    def test_bad_addresses(self):
        for host, detail in (("1.2.3", "not a numeric IPv4 or IPv6 address: 1.2.3"),
                             ("1::2::3", "not a numeric IPv6 address"), ("[::1]", "not a numeric IPv6"),
                             ("", "empty address"), ("127.0.0.1%lo", "an IPv4 address has no scope"),
                             ("0", "0 is not an address: write 0.0.0.0")):
            with self.subTest(host=host):
                self.case(APPLET, [host, "80", "true"], status=USAGE, fatal="HOST: " + detail)

    def test_bad_ports(self):
        for port in ("65536", "http", "-1", "1x", "08"):
            with self.subTest(port=port):
                self.case(APPLET, ["127.0.0.1", port, "true"], status=USAGE, fatal=("PORT", port))

    def test_bad_options(self):
        self.case(APPLET, ["--ipv6-only", "127.0.0.1", "0", "true"], status=USAGE,
                  fatal=("--ipv6-only", "IPv4 address"))
        self.case(APPLET, ["--ipv6-only", "::ffff:127.0.0.1", "0", "true"], status=USAGE,
                  fatal="--ipv6-only: HOST ::ffff:127.0.0.1 is an IPv4 address")
        self.case(APPLET, ["--name", "web", "127.0.0.1", "0", "true"], status=USAGE,
                  fatal=("--name", "needs --systemd-compatibility"))
        self.case(APPLET, ["--systemd-compatibility", "--name", "a:b", "127.0.0.1", "0", "true"],
                  status=USAGE, fatal=("--name", "no ':'"))
        self.case(APPLET, ["--backlog", "x", "127.0.0.1", "0", "true"], status=USAGE,
                  fatal=("backlog", "not a number"))
        self.case(APPLET, ["--bind-to-device", "a" * 16, "127.0.0.1", "0", "true"], status=USAGE,
                  fatal=("--bind-to-device", "not an interface name"))
        self.case(APPLET, ["--reuse", "127.0.0.1", "0", "true"], status=USAGE, fatal=("reuse", "unknown option"))

    def test_unknown_interfaces_are_lookup_failures(self):
        self.case(APPLET, ["--bind-to-device", "nosuch0", "127.0.0.1", "0", "true"], status=FAILURE,
                  fatal="--bind-to-device: no network interface nosuch0")
        self.case(APPLET, ["fe80::1%nosuch0", "0", "true"], status=FAILURE,
                  fatal="HOST: no network interface nosuch0")

    def test_whole_chain_is_planned_before_a_local_listener_acts(self):
        socket_path = self.path("s")
        for args, status, message in (
                (["127.0.0.1", "http", "true"], USAGE, "PORT: not a number: http"),
                (["localhost", "22", "true"], USAGE, "HOST: localhost is a host name, and names are never "
                                                     "looked up: give a numeric address (such as 127.0.0.1 or ::1)"),
                (["--bind-to-device", "nosuch0", "::", "22", "true"], FAILURE,
                 "--bind-to-device: no network interface nosuch0"),
                (["127.0.0.1", "0", "no-such-program-anywhere"], NOT_FOUND,
                 "no-such-program-anywhere: not found in PATH")):
            with self.subTest(args=args):
                self.case(LOCAL, [socket_path, APPLET] + args, status=status, stdout="",
                          stderr=f"{APPLET}: FATAL: {message}\n")
                self.assertNoFile(socket_path)

    # --- system failures ------------------------------------------------------

    def test_port_in_use(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            port = holder.getsockname()[1]
            self.case(APPLET, ["127.0.0.1", str(port), "echo", "ran"], status=FAILURE, stdout="",
                      fatal=f"tcp-socket-listen: FATAL: 127.0.0.1 port {port}: Address already in use")
            # Dual stack: :: takes the IPv4 port too.
            self.case(APPLET, ["::", str(port), "echo", "ran"], status=FAILURE, stdout="",
                      fatal=f":: port {port}: Address already in use")
            self.case(APPLET, ["--ipv6-only", "::", str(port), "true"])

    def test_privileged_port_as_nobody(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to become nobody")
        self.case("setuidgid", ["nobody", APPLET, "127.0.0.1", "1", "echo", "ran"], status=FAILURE, stdout="",
                  stderr="tcp-socket-listen: FATAL: 127.0.0.1 port 1: Permission denied\n")

    def test_next_program_not_found_or_not_executable(self):
        self.case(APPLET, ["127.0.0.1", "0", "no-such-program-anywhere"], status=NOT_FOUND,
                  fatal="no-such-program-anywhere")
        plain = self.path("plain")
        with open(plain, "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(plain, 0o644)
        self.case(APPLET, ["127.0.0.1", "0", plain], status=CANNOT_RUN, fatal=(plain, "Permission denied"))

    def test_help(self):
        results = self.case(APPLET, ["--help"])
        for result in results:
            self.assertTrue(result.stdout.startswith("Usage: tcp-socket-listen [OPTIONS] HOST PORT NEXT-PROG"))
            self.assertIn("Process name while it runs: tcp-listen\n", result.stdout)



class Readiness(ReadinessTestCase):
    """--notify-fd and --sd-notify: the supervisor is told once, and every
    socket takes connections by then (checked while the end of the chain waits)."""

    def listens(self, host, family):
        def check(process):
            with socket.socket(family, socket.SOCK_STREAM) as client:
                client.settimeout(10)
                client.connect((host, socket_port(process.pid)))
        return check

    def test_notify_fd_gets_one_newline_and_is_not_passed_on(self):
        out = self.ready_by_notify_fd([applet_link(APPLET), "--notify-fd", "5", "127.0.0.1", "0"],
                                      self.listens("127.0.0.1", socket.AF_INET))
        self.assertEqual(out, "fd 5 closed\n")

    def test_sd_notify_sends_one_ready_from_the_process(self):
        self.ready_by_sd_notify([applet_link(APPLET), "--sd-notify", "::1", "0"],
                                self.listens("::1", socket.AF_INET6))

    def test_one_ready_after_a_local_and_a_tcp_listen(self):
        directory = tempfile.mkdtemp(prefix="toolkit-tcp-ready-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(receiver.close)
        address = os.path.join(directory, "notify")
        receiver.bind(address)
        receiver.settimeout(20)
        node = os.path.join(directory, "s")
        # The TCP socket listens by the time READY=1 comes: the end of the chain checks it.
        check = ("import socket; s = socket.socket(fileno=4); "
                 "print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))")
        results = self.case(LOCAL, ["--sd-notify", "--systemd-compatibility", node, APPLET,
                                    "--systemd-compatibility", "--sd-notify", "127.0.0.1", "0"] + probe(check),
                            stdout="1\n", env=dict(os.environ, NOTIFY_SOCKET=address))
        self.assertEqual(len(results), 2)
        self.assertEqual([receiver.recv(64), receiver.recv(64)], [b"READY=1", b"READY=1"])
        receiver.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            receiver.recv(64)  # one per run, not one per listen link


if __name__ == "__main__":
    main()
