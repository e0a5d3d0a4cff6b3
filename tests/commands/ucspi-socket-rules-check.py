"""End-to-end tests of ucspi-socket-rules-check: the UNIX half through a real
listen + accept server with clients connecting as root and as nobody; the TCP
half (and the variables' edge cases) by running the applet with the
connection's variables in its environment, as an accept applet would."""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import (CANNOT_RUN, FAILURE, NOT_FOUND, SOURCE_DIR, USAGE, ToolkitTestCase, applet_link, listening,
                     main, run, wait_for, which)
import servers
from servers import CLIENT_TIMEOUT, WAIT_LIMIT

APPLET = "ucspi-socket-rules-check"
LISTEN = "local-stream-socket-listen"
ACCEPT = "local-stream-socket-accept"
ERROR = APPLET + ": ERROR: "
CONNECTION_VARIABLES = ("PROTO", "TCPREMOTEIP", "UNIXREMOTEEUID", "UNIXREMOTEEGID", "UNIXREMOTEGIDLIST")


def connection_env(**variables):
    """Our environment without inherited connection variables, plus VARIABLES."""
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_VARIABLES}
    env.update(variables)
    return env


def tcp(address):
    return connection_env(PROTO="TCP", TCPREMOTEIP=address)


def unix(uid, gid, groups=None):
    variables = {"PROTO": "UNIX", "UNIXREMOTEEUID": str(uid), "UNIXREMOTEEGID": str(gid)}
    if groups is not None:
        variables["UNIXREMOTEGIDLIST"] = ",".join(str(g) for g in groups)
    return connection_env(**variables)


class RulesTestCase(ToolkitTestCase):
    def setUp(self):
        # World-searchable: the clients of the end-to-end tests run as nobody.
        self.dir = tempfile.mkdtemp(prefix="rules-test-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def rules(self, text, name="rules"):
        path = os.path.join(self.dir, name)
        with open(path + ".new", "w") as f:
            f.write(text)
        os.replace(path + ".new", path)
        return path

    def allowed(self, text, env, stdout="allowed\n"):
        """TEXT allows the client ENV describes: the next program runs."""
        self.case(APPLET, ["--rules", self.rules(text), "echo", "allowed"], env=env, stdout=stdout)

    def denied(self, text, env, stderr=""):
        """TEXT denies: exit 0, the next program never runs, STDERR exactly."""
        self.case(APPLET, ["--rules", self.rules(text), "echo", "allowed"], env=env, stdout="",
                  stderr=stderr)


def page_example(first_line):
    """The lines of the manual page's example that starts with FIRST_LINE, up to its .EE."""
    with open(os.path.join(SOURCE_DIR, "manpages", APPLET + ".1")) as page:
        text = page.read()
    start = text.index(first_line + "\n")
    return text[start:text.index("\n.EE", start) + 1]


class TcpClients(RulesTestCase):
    def test_the_manual_page_tcp_example(self):
        rules = self.rules(page_example("# /etc/app/tcp.rules: the most specific first"))
        for address, limit in (("10.0.0.5", "50\n"), ("10.200.0.1", "5\n"), ("::1", "5\n"),
                               ("::ffff:10.0.0.5", "50\n"), ("192.0.2.1", "")):
            with self.subTest(address=address):
                self.case(APPLET, ["-q", "--rules", rules, "printenv", "PER_SOURCE_LIMIT"], env=tcp(address),
                          stdout=limit)

    def test_ipv4_prefix(self):
        text = "ip:10.0.0.0/8 allow\n* deny\n"
        self.allowed(text, tcp("10.200.3.4"))
        self.denied(text, tcp("11.0.0.1"))
        self.allowed("ip:192.168.4.0/22 allow\n", tcp("192.168.7.255"))
        self.denied("ip:192.168.4.0/22 allow\n* deny\n", tcp("192.168.8.0"))

    def test_a_bare_address_is_one_host(self):
        self.allowed("ip:10.0.0.7 allow\n", tcp("10.0.0.7"))
        self.denied("ip:10.0.0.7 allow\n* deny\n", tcp("10.0.0.6"))
        self.allowed("ip:::1 allow\n", tcp("::1"))
        self.denied("ip:::1 allow\n* deny\n", tcp("::2"))

    def test_ipv6_prefix(self):
        text = "ip:2001:db8::/33 allow\n* deny\n"
        self.allowed(text, tcp("2001:db8:7fff::1"))
        self.denied(text, tcp("2001:db8:8000::1"))
        self.allowed("ip:fe80::/10 allow\n", tcp("fe80::1%eth0"))

    def test_v4_mapped_peers_match_ipv4_rules(self):
        self.allowed("ip:10.0.0.0/8 allow\n", tcp("::ffff:10.1.2.3"))
        self.denied("ip:10.0.0.0/8 allow\n* deny\n", tcp("::ffff:11.1.2.3"))
        self.allowed("ip:::ffff:10.0.0.0/104 allow\n", tcp("10.9.9.9"))
        # An IPv4 client is not an IPv6 one: ::/0 does not take it in.
        self.denied("ip:::/0 allow\n* deny\n", tcp("::ffff:10.1.2.3"))

    def test_first_match_wins(self):
        self.denied("ip:10.0.0.5 deny\nip:10.0.0.0/8 allow\n", tcp("10.0.0.5"))
        self.allowed("ip:10.0.0.5 deny\nip:10.0.0.0/8 allow\n", tcp("10.0.0.6"))
        self.allowed("* allow\n* deny\n", tcp("10.0.0.5"))

    def test_no_match_is_a_deny_with_an_error_line(self):
        path = self.rules("ip:10.0.0.0/8 allow\n")
        self.case(APPLET, ["--rules", path, "echo", "allowed"], env=tcp("192.0.2.1"), stdout="",
                  stderr=f"{ERROR}{path}: no rule matched the TCP client 192.0.2.1\n")
        self.case(APPLET, ["--rules", path, "echo", "allowed"], env=tcp("::ffff:192.0.2.1"), stdout="",
                  stderr=f"{ERROR}{path}: no rule matched the TCP client 192.0.2.1\n")
        self.case(APPLET, ["-q", "--rules", path, "echo", "allowed"], env=tcp("192.0.2.1"), stdout="",
                  stderr="")
        self.denied("# nothing but a comment\n\n", tcp("192.0.2.1"),
                    stderr=f"{ERROR}{self.dir}/rules: no rule matched the TCP client 192.0.2.1\n")

    def test_verbose_names_the_rule(self):
        path = self.rules("ip:10.0.0.1 deny\n\n* allow\n")
        # The log line starts with the process id: PID here. It is written before the next program runs.
        merged = lambda argv: ["sh", "-c", '"$@" 2>&1 | sed -E "s/^([a-z-]+): [0-9]+ /\\1: PID /"', "sh"] + argv
        self.case(APPLET, ["-v", "--rules", path, "echo", "allowed"], env=tcp("10.0.0.1"), wrap=merged,
                  stdout=f"{APPLET}: PID deny {path}:1\n")
        self.case(APPLET, ["--verbose", "--rules", path, "echo", "allowed"], env=tcp("10.0.0.2"), wrap=merged,
                  stdout=f"{APPLET}: PID allow {path}:3\nallowed\n")
        self.case(APPLET, ["-vq", "--rules", self.rules("ip:::1 allow\n"), "true"], env=tcp("10.0.0.2"),
                  wrap=merged, stdout=f"{APPLET}: PID deny {path}: no rule matched\n")

    def test_assignments_reach_the_next_program(self):
        path = self.rules("ip:10.0.0.9 allow LIMIT=100 NOTE=a=b EMPTY=\n"
                          "ip:10.0.0.0/8 allow LIMIT=5 # the rest of the network\n")
        show = ["sh", "-c", 'echo "$LIMIT ${NOTE-unset} [${EMPTY-unset}]"']
        self.case(APPLET, ["--rules", path] + show, env=tcp("10.0.0.9"), stdout="100 a=b []\n")
        self.case(APPLET, ["--rules", path] + show, env=tcp("10.0.0.10"), stdout="5 unset [unset]\n")
        # A variable that exists is replaced, not doubled.
        self.case(APPLET, ["--rules", path, "sh", "-c", "env | grep -c ^LIMIT="],
                  env=dict(tcp("10.0.0.10"), LIMIT="1"), stdout="1\n")

    def test_uid_and_group_rules_never_match_a_tcp_client(self):
        self.denied("uid:0 allow\ngid:0 allow\nuser:root allow\ngroup:root allow\n* deny\n", tcp("::1"))


class UnixVariables(RulesTestCase):
    def test_uid_and_user(self):
        self.allowed("uid:1000 allow\n", unix(1000, 100))
        self.denied("uid:1000 allow\n* deny\n", unix(1001, 100))
        self.allowed("user:root allow\n", unix(0, 5))
        self.denied("user:root allow\n* deny\n", unix(5, 0))

    def test_gid_and_group_by_egid_or_supplementary_list(self):
        self.allowed("gid:100 allow\n", unix(1000, 100))
        self.allowed("gid:27 allow\n", unix(1000, 100, [100, 27]))
        self.denied("gid:27 allow\n* deny\n", unix(1000, 100, [100, 28]))
        self.allowed("group:root allow\n", unix(1000, 0))
        self.allowed("group:root allow\n", unix(1000, 100, [4, 0]))
        self.denied("group:root allow\n* deny\n", unix(1000, 100, []))

    def test_ip_rules_never_match_a_unix_client(self):
        self.denied("ip:0.0.0.0/0 allow\nip:::/0 allow\n* deny\n", unix(0, 0))

    def test_missing_or_garbage_variables_deny(self):
        cases = [
            (connection_env(), "PROTO: not set, so the client is unknown"),
            (connection_env(PROTO="UDP"), "PROTO: neither UNIX nor TCP"),
            (connection_env(PROTO="UNIX", UNIXREMOTEEGID="0"), "UNIXREMOTEEUID: not set, so the client is unknown"),
            (connection_env(PROTO="UNIX", UNIXREMOTEEUID="0"), "UNIXREMOTEEGID: not set, so the client is unknown"),
            (connection_env(PROTO="UNIX", UNIXREMOTEEUID="0x0", UNIXREMOTEEGID="0"), "UNIXREMOTEEUID: not a uid or gid number"),
            (connection_env(PROTO="UNIX", UNIXREMOTEEUID="0", UNIXREMOTEEGID="4294967295"), "UNIXREMOTEEGID: not a uid or gid number"),
            (dict(unix(0, 0), UNIXREMOTEGIDLIST="1,x"), "UNIXREMOTEGIDLIST: not a comma-separated list of gids"),
            (connection_env(PROTO="TCP"), "TCPREMOTEIP: not set, so the client is unknown"),
            (tcp("10.0.0.256"), "TCPREMOTEIP: not an IPv4 or IPv6 address"),
            (tcp("localhost\nFORGED"), "TCPREMOTEIP: not an IPv4 or IPv6 address"),
        ]
        for env, message in cases:
            with self.subTest(message=message):
                # Even "* allow" does not let an unknown client in: fail closed.
                self.denied("* allow\n", env, stderr=f"{ERROR}{message} (the connection is denied)\n")


class PlanTime(RulesTestCase):
    def fatal_line(self, text, *fragments, status=USAGE):
        path = self.rules(text)
        self.case(APPLET, ["--rules", path, "echo", "allowed"], env=tcp("10.0.0.1"), status=status,
                  fatal=fragments, stdout="")
        return path

    def test_bad_lines_stop_the_chain_naming_file_and_line(self):
        path = os.path.join(self.dir, "rules")
        self.fatal_line("* allow\n\nip:10.0.0/8 deny\n", f"FATAL: {path}:3: ip:10.0.0/8: not an IPv4 or IPv6 address")
        # A bad line after the first match is found too: the whole file is checked.
        self.fatal_line("* allow\nip:10.0.0.1/8 deny\n", f"{path}:2: ip:10.0.0.1/8: the address has bits set after its first 8")
        self.fatal_line("ip:10.0.0.0/33 allow\n", f"{path}:1: ", "from 0 to 32")
        self.fatal_line("* alow\n", f"{path}:1: unknown action \"alow\" (allow or deny)")
        self.fatal_line("*\n", f"{path}:1: * has no action (allow or deny)")
        self.fatal_line("host:example.org allow\n", f"{path}:1: unknown MATCH \"host:example.org\"")
        self.fatal_line("uid:abc allow\n", f"{path}:1: uid:abc: not a number from 0 to 4294967294")
        self.fatal_line("* deny X=1\n", f"{path}:1: a deny rule takes no VAR=VALUE assignments")
        self.fatal_line("* allow X\n", f"{path}:1: \"X\" is not a VAR=VALUE assignment")
        self.fatal_line("* allow\0\n", f"{path}:1: a control character in the line")
        # A carriage return inside a line: on a terminal "* allow" would be hidden by the comment.
        self.fatal_line("* allow\r# ip:10.0.0.1 deny\n", f"{path}:1: a control character in the line")
        self.fatal_line("ip:10.0.0.1\rdeny\n", f"{path}:1: a control character in the line")

    def test_crlf_line_endings_are_read(self):
        self.denied("ip:10.0.0.1 deny\r\n* allow\r\n", tcp("10.0.0.1"))
        self.allowed("ip:10.0.0.1 deny\r\n* allow\r\n", tcp("10.0.0.2"))

    def test_unknown_names_stop_the_chain(self):
        path = os.path.join(self.dir, "rules")
        self.fatal_line("* deny\nuser:toolkit-no-such-user allow\n", f"{path}:2: no such user \"toolkit-no-such-user\"")
        self.fatal_line("group:toolkit-no-such-group allow\n", f"{path}:1: no such group \"toolkit-no-such-group\"")

    def test_a_relative_file_is_checked_where_the_chain_will_read_it(self):
        # After chdir (or chroot), "rules" names the file in the new directory,
        # when the chain is checked as when a connection reads it.
        os.mkdir(os.path.join(self.dir, "inner"))
        self.rules("* allow WHERE=inner\n", name="inner/rules")
        self.case("chdir", ["inner", APPLET, "--rules", "rules", "printenv", "WHERE"], env=unix(0, 0),
                  cwd=self.dir, stdout="inner\n")
        self.case("chdir", ["inner", APPLET, "--rules", "missing", "true"], env=unix(0, 0), cwd=self.dir,
                  fatal_by=APPLET, status=FAILURE, fatal=("missing", "No such file or directory"))

    def test_a_file_that_cannot_be_read_is_111_naming_it(self):
        missing = os.path.join(self.dir, "missing")
        self.case(APPLET, ["--rules", missing, "true"], status=FAILURE,
                  fatal=f"FATAL: {missing}: No such file or directory")
        self.case(APPLET, ["--rules", self.dir, "true"], status=FAILURE,
                  fatal=f"FATAL: {self.dir}: is a directory, not a regular file")
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)  # nobody writes to it: opening it must not hang
        self.case(APPLET, ["--rules", fifo, "true"], status=FAILURE, fatal=f"{fifo}: is a FIFO")

    def test_usage(self):
        self.case(APPLET, ["true"], status=USAGE, fatal="--rules: a rules FILE must be given")
        self.case(APPLET, ["--rules=", "true"], status=USAGE, fatal="--rules")
        self.case(APPLET, ["--rules", self.rules("* allow\n")], status=USAGE, fatal="NEXT-PROG")
        self.case(APPLET, ["--rule", self.rules("* allow\n"), "true"], status=USAGE, fatal="--rule")
        self.case(APPLET, ["-x", "--rules", self.rules("* allow\n"), "true"], status=USAGE, fatal="-x")

    def test_help(self):
        for result in self.case(APPLET, ["--help"]):
            self.assertIn("--rules FILE", result.stdout)
            self.assertIn("Process name while it runs: rules-check\n", result.stdout)

    def test_next_program_not_found_or_not_executable(self):
        path = self.rules("* allow\n")
        self.case(APPLET, ["--rules", path, "toolkit-no-such-program"], env=tcp("::1"),
                  status=NOT_FOUND, fatal="toolkit-no-such-program")
        self.case(APPLET, ["--rules", path, path], env=tcp("::1"), status=CANNOT_RUN,
                  fatal=(path, "Permission denied"))

    def test_a_bad_file_stops_the_chain_before_the_socket_exists(self):
        bad = self.rules("* allow\nip:1.2.3.4/40 deny\n", "bad")
        node = os.path.join(self.dir, "s")
        result = run([applet_link(LISTEN), node, ACCEPT, APPLET, "--rules", bad, "printenv"])
        self.assertFatal(result, APPLET, USAGE, f"{bad}:2: ip:1.2.3.4/40")
        self.assertFalse(os.path.lexists(node), "the socket node was created")
        result = run([applet_link(LISTEN), node, ACCEPT, APPLET, "--rules", bad + ".missing", "printenv"])
        self.assertFatal(result, APPLET, FAILURE, bad + ".missing")
        self.assertFalse(os.path.lexists(node), "the socket node was created")


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


class Server(servers.Server):
    """listen + accept -v + rules-check -v, serving a shell that reports what it
    got (see servers.Server); its socket is PATH in DIRECTORY."""

    def __init__(self, directory, rules):
        self.path = os.path.join(directory, "s")
        report = 'printenv PROTO UNIXREMOTEEUID LEVEL; echo end'
        super().__init__([applet_link(LISTEN), "--mode", "0666", self.path, ACCEPT, "-v",
                          APPLET, "-v", "--rules", rules, "sh", "-c", report], prefix="toolkit-rules-log-")
        wait_for(lambda: listening(self.path) or self.process.poll() is not None, "the server to listen")
        if self.process.poll() is not None:
            raise AssertionError(f"the server did not start: {self.log()!r}")

    def wait_for_log(self, pattern, count):
        """The log once PATTERN matches COUNT of its lines (bounded wait)."""
        deadline = time.monotonic() + WAIT_LIMIT
        while True:
            log = self.log()
            if len(re.findall(pattern, log, re.M)) >= count or time.monotonic() > deadline:
                return log
            time.sleep(0.02)


class EndToEnd(RulesTestCase):
    """The UNIX half through real sockets: the accept applet's variables, as the kernel reported them."""

    def serve(self, text):
        server = Server(self.dir, self.rules(text))
        self.addCleanup(server.stop)
        return server

    def connect(self, server, user=None, group=None, extra_groups=()):
        """What a client reads from SERVER: this process forked, the child
        (setuid to USER when given) connects and hands the bytes back on a pipe."""
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: the child never returns into the test
            status = 1
            try:
                os.close(reader)
                if user is not None:
                    os.setgroups(list(extra_groups))
                    os.setgid(group)
                    os.setuid(user)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(CLIENT_TIMEOUT)
                    client.connect(server.path)
                    while chunk := client.recv(4096):
                        os.write(writer, chunk)
                status = 0
            finally:
                os._exit(status)
        os.close(writer)
        with os.fdopen(reader, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the client failed")
        return data.decode()

    def need_root(self):
        if os.geteuid() != 0 or nobody() is None:
            self.skipTest("clients of other users need root and an account nobody")
        return nobody()

    def test_root_allowed_nobody_denied_by_uid(self):
        account = self.need_root()
        server = self.serve("uid:0 allow LEVEL=admin\n* deny\n")
        self.assertEqual(self.connect(server), "UNIX\n0\nadmin\nend\n")
        self.assertEqual(self.connect(server, account.pw_uid, account.pw_gid), "")
        log = server.wait_for_log(r"ended status 1 code 0", 2)
        self.assertRegex(log, rf"(?m)^{APPLET}: \d+ allow {re.escape(self.dir)}/rules:1$")
        self.assertRegex(log, rf"(?m)^{APPLET}: \d+ deny {re.escape(self.dir)}/rules:2$")
        self.assertNotIn("ERROR", log)
        # The denied child ended with status 0, as did the allowed one.
        self.assertEqual(len(re.findall(rf"(?m)^{ACCEPT}: \d+ ended status 1 code 0 ", log)), 2, log)

    def test_by_user_name(self):
        account = self.need_root()
        server = self.serve("user:nobody allow LEVEL=guest\n")
        self.assertEqual(self.connect(server, account.pw_uid, account.pw_gid),
                         f"UNIX\n{account.pw_uid}\nguest\nend\n")
        self.assertEqual(self.connect(server), "")
        log = server.wait_for_log("no rule matched", 1)
        self.assertIn(f"{ERROR}{self.dir}/rules: no rule matched the UNIX client uid 0 gid 0\n", log)

    def test_by_group_and_supplementary_membership(self):
        account = self.need_root()
        try:
            staff = grp.getgrnam("staff").gr_gid
        except KeyError:
            self.skipTest("no group staff")
        server = self.serve("group:staff allow LEVEL=staff\n"
                            f"gid:{account.pw_gid} allow LEVEL=own-group\n")
        # staff only among the supplementary groups: UNIXREMOTEGIDLIST carries it.
        self.assertEqual(self.connect(server, account.pw_uid, account.pw_gid, [staff]),
                         f"UNIX\n{account.pw_uid}\nstaff\nend\n")
        self.assertEqual(self.connect(server, account.pw_uid, account.pw_gid, []),
                         f"UNIX\n{account.pw_uid}\nown-group\nend\n")
        self.assertEqual(self.connect(server, account.pw_uid, staff, []), f"UNIX\n{account.pw_uid}\nstaff\nend\n")
        self.assertEqual(self.connect(server, 0, 0, []), "")

    def test_socat_under_setpriv(self):
        account = self.need_root()
        socat, setpriv = which("socat"), which("setpriv")
        try:
            staff = grp.getgrnam("staff").gr_gid
        except KeyError:
            self.skipTest("no group staff")
        server = self.serve("group:staff allow LEVEL=staff\n* deny\n")
        base = [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}"]
        connect = [socat, "-,ignoreeof", f"UNIX-CONNECT:{server.path}"]
        member = run(base + [f"--groups={staff}"] + connect, input="")
        self.assertEqual((member.returncode, member.stdout), (0, f"UNIX\n{account.pw_uid}\nstaff\nend\n"),
                         member.stderr)
        outsider = run(base + ["--clear-groups"] + connect, input="")
        self.assertEqual((outsider.returncode, outsider.stdout), (0, ""), outsider.stderr)

    def test_an_edit_takes_effect_at_the_next_connection(self):
        server = self.serve(f"uid:{os.geteuid()} allow LEVEL=first\n")
        self.assertEqual(self.connect(server).splitlines()[2], "first")
        self.rules(f"uid:{os.geteuid()} allow LEVEL=second\n")
        self.assertEqual(self.connect(server).splitlines()[2], "second")
        self.rules(f"uid:{os.geteuid()} deny\n* allow LEVEL=third\n")
        self.assertEqual(self.connect(server), "")
        # A line that is wrong now, reached before any match: that connection is denied.
        self.rules("uid:x allow\n* allow\n")
        self.assertEqual(self.connect(server), "")
        log = server.wait_for_log("ERROR", 1)
        self.assertIn(f"{ERROR}{self.dir}/rules:1: uid:x: not a number from 0 to 4294967294 "
                      "(the connection is denied)\n", log)

    def test_an_edit_that_breaks_the_file_after_the_match_denies(self):
        # The rule for this client comes first; the line that is wrong, after it,
        # would have stopped the chain: the connection is denied all the same.
        server = self.serve(f"uid:{os.geteuid()} allow LEVEL=first\n")
        self.assertEqual(self.connect(server).splitlines()[2], "first")
        self.rules(f"uid:{os.geteuid()} allow LEVEL=second\nuser:toolkit-no-such-user deny\n")
        self.assertEqual(self.connect(server), "")
        log = server.wait_for_log("ERROR", 1)
        self.assertIn(f'{ERROR}{self.dir}/rules:2: no such user "toolkit-no-such-user" '
                      "(the connection is denied)\n", log)
        self.assertEqual(self.connect(server), "")  # still broken: still denied
        self.rules(f"uid:{os.geteuid()} allow LEVEL=mended\n")
        self.assertEqual(self.connect(server).splitlines()[2], "mended")
        self.assertIsNone(server.process.poll(), "the server stopped")

    def test_a_file_gone_or_unreadable_denies(self):
        server = self.serve("* allow LEVEL=open\n")
        self.assertEqual(self.connect(server).splitlines()[2], "open")
        os.unlink(os.path.join(self.dir, "rules"))
        self.assertEqual(self.connect(server), "")
        os.mkdir(os.path.join(self.dir, "rules"))
        self.assertEqual(self.connect(server), "")
        log = server.wait_for_log("ERROR", 2)
        self.assertIn(f"{ERROR}{self.dir}/rules: No such file or directory (the connection is denied)\n", log)
        self.assertIn(f"{ERROR}{self.dir}/rules: is a directory, not a regular file (the connection is denied)\n", log)
        # Back in place, it is obeyed again without a restart.
        os.rmdir(os.path.join(self.dir, "rules"))
        self.rules("* allow LEVEL=again\n")
        self.assertEqual(self.connect(server).splitlines()[2], "again")
        self.assertIsNone(server.process.poll(), "the server stopped")



class TcpEndToEnd(RulesTestCase):
    """ip: rules behind a real tcp-socket-listen and tcp-socket-accept, clients on 127.0.0.1 and 127.0.0.2."""

    def serve(self, rules):
        port_file = os.path.join(self.dir, "port")
        report = "import socket; print(socket.socket(fileno=3).getsockname()[1], file=open(%r, 'w'))" % port_file
        chain = [applet_link("tcp-socket-listen"), "0.0.0.0", "0", "sh", "-c",
                 'python3 -c "$0" && exec "$@"', report, applet_link("tcp-socket-accept"), APPLET, "--rules", rules,
                 "sh", "-c", 'echo "$LIMIT $TCPREMOTEIP"']
        process = subprocess.Popen(chain, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, start_new_session=True)

        def stop():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=20)
            process.stderr.close()
        self.addCleanup(stop)
        for _ in range(1000):  # bounded: 20 s
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.02)
        with open(port_file) as f:
            return int(f.read())

    def talk(self, source, port):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.settimeout(20)
            client.bind((source, 0))
            client.connect(("127.0.0.1", port))
            data = b""
            while chunk := client.recv(100):
                data += chunk
            return data

    def test_prefixes_decide_and_assignments_reach_the_handler(self):
        rules = self.rules("ip:127.0.0.2 allow LIMIT=high\nip:127.0.0.0/8 allow LIMIT=low\n")
        port = self.serve(rules)
        self.assertEqual(self.talk("127.0.0.2", port), b"high 127.0.0.2\n")
        self.assertEqual(self.talk("127.0.0.1", port), b"low 127.0.0.1\n")

    def test_a_denied_address_gets_nothing_and_an_edit_lets_it_in(self):
        rules = self.rules("ip:127.0.0.1 allow LIMIT=one\n")
        port = self.serve(rules)
        self.assertEqual(self.talk("127.0.0.2", port), b"")
        self.rules("ip:127.0.0.1 allow LIMIT=one\nip:127.0.0.2/32 allow LIMIT=two\n")
        self.assertEqual(self.talk("127.0.0.2", port), b"two 127.0.0.2\n")

if __name__ == "__main__":
    main()
