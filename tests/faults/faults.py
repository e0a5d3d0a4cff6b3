"""Fault injection: make each system call an applet makes on purpose fail (with
strace's syscall tampering) and check that the failure is clean: one FATAL line
naming what failed, the documented exit status, the next program never run,
nothing left behind, no crash, no hang.

The syscall x applet matrix is FAULTS (programs that end: the failure must
stop the chain), SERVER_FAULTS (the local accept applets: a failure costs
one connection at most) and TCP_SERVER_FAULTS (the same for tcp-socket-accept);
`python3 faults.py --matrix` prints all three as one table."""

import dataclasses
import os
import re
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commands"))
import harness  # noqa: E402
from harness import FAILURE, CANNOT_RUN, STATIC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strace_faults import (Fault, TracedServer, children_of, find_in_trace, inject_run, inject_spec,  # noqa: E402
                           locate, strace_unusable, trace_spec)

MARK = "FAULT_MARK"
REACHED = "reached\n"
# The program at the end of every chain: it prints REACHED only if it ran.
END = ["printenv", MARK]

# An fd the test opens for fdmove to move (kept away from 0..2 so that moving it
# does not disturb the output we observe).
SPARE_FD = 8
# The s6 notification descriptor of the readiness faults (/dev/null, for writing).
NOTIFY_FD = 5

CLIENT_TIMEOUT = 10  # seconds a client waits for the server
OK = 0  # the fault is absorbed: retried or harmless, and the chain goes on
LISTEN = "local-stream-socket-listen"
SEQ_LISTEN = "local-seqpacket-socket-listen"
DGRAM_LISTEN = "local-datagram-socket-listen"
TCP_LISTEN = "tcp-socket-listen"
UDP_LISTEN = "udp-socket-listen"
RULES = "ucspi-socket-rules-check"
TCP_CONNECT = "tcp-socket-connect"
LCONNECT = "local-stream-socket-connect"
# The type of the socket each local applet makes or serves (a stale one left at {dir}/s, too).
SOCKET_TYPE = {SEQ_LISTEN: socket.SOCK_SEQPACKET, DGRAM_LISTEN: socket.SOCK_DGRAM,
               "local-seqpacket-socket-accept": socket.SOCK_SEQPACKET}
STAT = "newfstatat|fstatat64|statx|lstat|fstat"


def passwd_fragment():
    return "/etc/passwd" if STATIC else "daemon"


# applet, its arguments (the chain goes on with END), the syscall to break and
# a regular expression its arguments must match (which of the calls is ours),
# the error (an errno name, or "retval=N" to fake a success), the exit status,
# and the fragments the one FATAL line must hold.
FAULTS = [
    # fdmove
    Fault("fdmove", ["9", "8"], "fcntl", r"^8, F_GETFD", "EBADF", FAILURE, ["descriptor 8", "Bad file descriptor"]),
    Fault("fdmove", ["9", "8"], "dup2|dup3", r"^8, 9", "EMFILE", FAILURE, ["descriptor 9", "Too many open files"]),
    Fault("fdmove", ["9", "8"], "dup2|dup3", r"^8, 9", "EINTR", OK, []),
    Fault("fdmove", ["-c", "9", "8"], "dup2|dup3", r"^8, 9", "EBUSY", FAILURE, ["descriptor 9", "Device or resource busy"]),
    Fault("fdmove", ["8", "8"], "fcntl", r"^8, F_GETFD", "EBADF", FAILURE, ["descriptor 8", "Bad file descriptor"]),
    Fault("fdmove", ["9", "8"], "close", r"^8\)", "EIO", OK, []),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "EACCES", CANNOT_RUN, ["printenv", "Permission denied"]),
    # ENOENT for a file that is there: what is missing is its interpreter, 126.
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "ENOENT", CANNOT_RUN,
          ["printenv", "No such file or directory (its #! interpreter or loader was not found)"]),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "E2BIG", CANNOT_RUN, ["printenv", "Argument list too long"]),
    Fault("fdmove", ["9", "8"], "execve", r"printenv", "ENOEXEC", CANNOT_RUN, ["printenv", "Exec format error"]),
    Fault("fdmove", ["9", "8"], "prctl", r"PR_SET_NAME", "EINVAL", OK, []),
    # setuidgid
    Fault("setuidgid", ["daemon"], "openat|open", r'"/etc/passwd"', "EACCES", FAILURE, [passwd_fragment()]),
    Fault("setuidgid", ["daemon"], "setgroups", r"", "EPERM", FAILURE, ["setgroups", "Operation not permitted"]),
    Fault("setuidgid", ["daemon"], "setgid", r"", "EPERM", FAILURE, ["setgid 1", "Operation not permitted"]),
    Fault("setuidgid", ["1:1"], "setgid", r"", "EINVAL", FAILURE, ["setgid 1", "Invalid argument"]),
    Fault("setuidgid", ["daemon"], "setuid", r"^1\)", "EAGAIN", FAILURE, ["setuid 1", "Resource temporarily unavailable"]),
    Fault("setuidgid", ["daemon"], "getresuid", r"", "EFAULT", FAILURE, ["getresuid", "Bad address"]),
    Fault("setuidgid", ["daemon"], "getresgid", r"", "EFAULT", FAILURE, ["getresgid", "Bad address"]),
    # The check that root cannot be regained must notice a kernel that lets it.
    Fault("setuidgid", ["daemon"], "setuid", r"^0\)", "retval=0", FAILURE, ["setuid", "root privileges could be regained"]),
    Fault("setuidgid", ["daemon"], "setresuid|setreuid", r"0", "retval=0", FAILURE, ["setuid", "root privileges could be regained"]),
    Fault("setuidgid", ["daemon"], "execve", r"printenv", "EACCES", CANNOT_RUN, ["printenv", "Permission denied"]),
    # A chain: the failing link names itself, not the first one.
    Fault("setuidgid", ["1:1", "fdmove", "9", "8"], "dup2|dup3", r"^8, 9", "EMFILE", FAILURE,
          ["descriptor 9", "Too many open files"], applet_named="fdmove"),
    # local-stream-socket-listen: {dir} is a fresh directory for every run.
    Fault(LISTEN, ["{dir}/s"], "socket", r"^AF_UNIX, SOCK_STREAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"], leaves=[]),
    Fault(LISTEN, ["--pass-credentials", "{dir}/s"], "setsockopt", r"SO_PASSCRED", "ENOPROTOOPT", FAILURE,
          ["SO_PASSCRED", "Protocol not available"], leaves=[]),
    Fault(LISTEN, ["--pass-security", "{dir}/s"], "setsockopt", r"SO_PASSSEC", "ENOPROTOOPT", FAILURE,
          ["SO_PASSSEC", "Protocol not available"], leaves=[]),
    # PATH's directory is opened once; the rest is looked up in it.
    Fault(LISTEN, ["{dir}/s"], "openat|open", r"O_PATH\|O_DIRECTORY", "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], STAT, r'^\d+, "s", .*AT_SYMLINK_NOFOLLOW', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], STAT, r'^\d+, "", \{st_mode=S_IFDIR', "EIO", FAILURE,
          ["{dir}/s", "Input/output error"], leaves=[]),
    # The stale-socket probe: a socket nobody listens on is at PATH already.
    Fault(LISTEN, ["{dir}/s"], "openat", r'^\d+, "s", O_RDONLY\|O_NOFOLLOW', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=["s"]),
    Fault(LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=["s"]),
    Fault(LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "retval=0", FAILURE,
          ["{dir}/s", "in use by a running server"], setup="stale", leaves=["s"]),
    # Without /proc the probe falls back to PATH.
    Fault(LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "ENOENT", OK, [], setup="stale", leaves=["s"]),
    Fault(LISTEN, ["{dir}/s"], "unlinkat|unlink", r'"s", 0', "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], setup="stale", leaves=["s"]),
    Fault(LISTEN, ["{dir}/s"], "bind", r'/s"', "EADDRINUSE", FAILURE,
          ["{dir}/s", "Address already in use"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], "bind", r'/s"', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=[]),
    Fault(LISTEN, ["@{abstract}"], "bind", r'sun_path=@', "EADDRINUSE", FAILURE,
          ["@{abstract}", "Address already in use"]),
    # After bind, the undo is in place before the node is opened and checked.
    Fault(LISTEN, ["-m", "0600", "{dir}/s"], "openat|open", r'"s", O_RDONLY\|O_NOFOLLOW', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], leaves=[]),
    Fault(LISTEN, ["-m", "0600", "{dir}/s"], STAT, r'^\d+, "", \{st_mode=S_IFSOCK\|0600', "EIO", FAILURE,
          ["{dir}/s", "Input/output error"], leaves=[]),
    # Without sock_diag the node is checked by owner, link count and mode instead.
    Fault(LISTEN, ["-m", "0600", "{dir}/s"], "socket", r"^AF_NETLINK", "EAFNOSUPPORT", OK, [], leaves=["s"]),
    Fault(LISTEN, ["-m", "0600", "{dir}/s"], STAT, r'^\d+, "", \{st_mode=S_IFSOCK\|0777', "EIO", OK, [],
          leaves=["s"]),
    Fault(LISTEN, ["-u", "1", "-g", "1", "{dir}/s"], "fchownat", r'""', "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], leaves=[]),
    Fault(LISTEN, ["-m", "01660", "{dir}/s"], "chmod|fchmodat", r"/proc/self/fd/", "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], "listen", r"", "EADDRINUSE", FAILURE,
          ["{dir}/s", "Address already in use"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], "fcntl", r"^3, F_SETFD, 0", "EIO", FAILURE,
          ["descriptor 3", "Input/output error"], leaves=[]),
    Fault(LISTEN, ["{dir}/s"], "execve", r"printenv", "EACCES", CANNOT_RUN,
          ["printenv", "Permission denied"], leaves=[]),
    # Moving the socket to 3 when something else was there (here: the spare fd's copy).
    Fault("fdmove", ["-c", "3", "8", LISTEN, "{dir}/s"], "dup2|dup3", r"^\d+, 3\)", "EBUSY", FAILURE,
          ["descriptor 3", "Device or resource busy"], applet_named=LISTEN, leaves=[], nth=2),
    Fault(LISTEN, ["{dir}/s", "setuidgid", "1:1"], "setgid", r"", "EPERM", FAILURE,
          ["setgid 1", "Operation not permitted"], applet_named="setuidgid", leaves=[]),
    # local-seqpacket-socket-listen: the same listen step, for SOCK_SEQPACKET.
    Fault(SEQ_LISTEN, ["{dir}/s"], "socket", r"^AF_UNIX, SOCK_SEQPACKET", "EMFILE", FAILURE,
          ["socket", "Too many open files"], leaves=[]),
    Fault(SEQ_LISTEN, ["{dir}/s"], "bind", r'/s"', "EADDRINUSE", FAILURE,
          ["{dir}/s", "Address already in use"], leaves=[]),
    Fault(SEQ_LISTEN, ["{dir}/s"], "bind", r'/s"', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=[]),
    Fault(SEQ_LISTEN, ["@{abstract}"], "bind", r'sun_path=@', "EADDRINUSE", FAILURE,
          ["@{abstract}", "Address already in use"]),
    Fault(SEQ_LISTEN, ["-b", "9", "{dir}/s"], "listen", r"^\d+, 9", "EADDRINUSE", FAILURE,
          ["{dir}/s", "Address already in use"], leaves=[]),
    Fault(SEQ_LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "retval=0", FAILURE,
          ["{dir}/s", "in use by a running server"], setup="stale", leaves=["s"]),
    Fault(SEQ_LISTEN, ["-u", "1", "{dir}/s"], "fchownat", r'""', "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], leaves=[]),
    # local-datagram-socket-listen: bound, never listening (there is no listen call to break).
    Fault(DGRAM_LISTEN, ["{dir}/s"], "socket", r"^AF_UNIX, SOCK_DGRAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"], leaves=[]),
    Fault(DGRAM_LISTEN, ["--pass-credentials", "{dir}/s"], "setsockopt", r"SO_PASSCRED", "ENOPROTOOPT",
          FAILURE, ["SO_PASSCRED", "Protocol not available"], leaves=[]),
    Fault(DGRAM_LISTEN, ["{dir}/s"], "bind", r'/s"', "EADDRINUSE", FAILURE,
          ["{dir}/s", "Address already in use"], leaves=[]),
    Fault(DGRAM_LISTEN, ["{dir}/s"], "bind", r'/s"', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=[]),
    Fault(DGRAM_LISTEN, ["@{abstract}"], "bind", r'sun_path=@', "EADDRINUSE", FAILURE,
          ["@{abstract}", "Address already in use"]),
    # The stale-node probe is a datagram connect: refused means nobody is bound there.
    Fault(DGRAM_LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "EACCES", FAILURE,
          ["{dir}/s", "Permission denied"], setup="stale", leaves=["s"]),
    Fault(DGRAM_LISTEN, ["{dir}/s"], "connect", r'/proc/self/fd/', "retval=0", FAILURE,
          ["{dir}/s", "in use by a running server"], setup="stale", leaves=["s"]),
    Fault(DGRAM_LISTEN, ["{dir}/s"], "unlinkat|unlink", r'"s", 0', "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], setup="stale", leaves=["s"]),
    Fault(DGRAM_LISTEN, ["-g", "1", "{dir}/s"], "fchownat", r'""', "EPERM", FAILURE,
          ["{dir}/s", "Operation not permitted"], leaves=[]),
    # What arrived before the owner was final is dropped; a failure to drop it stops the start.
    Fault(DGRAM_LISTEN, ["-u", "1", "{dir}/s"], "recvfrom|recv", r"MSG_TRUNC\|MSG_DONTWAIT", "ENOMEM", FAILURE,
          ["discarding early datagrams", "Cannot allocate memory"], leaves=[]),
    Fault(DGRAM_LISTEN, ["{dir}/s"], "fcntl", r"^3, F_SETFD, 0", "EIO", FAILURE,
          ["descriptor 3", "Input/output error"], leaves=[]),
    # tcp-socket-listen
    Fault(TCP_LISTEN, ["127.0.0.1", "0"], "socket", r"^AF_INET, SOCK_STREAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"]),
    Fault(TCP_LISTEN, ["::", "0"], "socket", r"^AF_INET6, SOCK_STREAM", "EAFNOSUPPORT", FAILURE,
          ["socket", "Address family not supported by protocol"]),
    Fault(TCP_LISTEN, ["127.0.0.1", "0"], "setsockopt", r"SO_REUSEADDR", "ENOPROTOOPT", FAILURE,
          ["SO_REUSEADDR", "Protocol not available"]),
    Fault(TCP_LISTEN, ["--reuse-port", "127.0.0.1", "0"], "setsockopt", r"SO_REUSEPORT", "ENOPROTOOPT", FAILURE,
          ["SO_REUSEPORT", "Protocol not available"]),
    Fault(TCP_LISTEN, ["::", "0"], "setsockopt", r"IPV6_V6ONLY", "EINVAL", FAILURE,
          ["IPV6_V6ONLY", "Invalid argument"]),
    Fault(TCP_LISTEN, ["--free-bind", "127.0.0.1", "0"], "setsockopt", r"IP_FREEBIND", "ENOPROTOOPT", FAILURE,
          ["IP_FREEBIND", "Protocol not available"]),
    Fault(TCP_LISTEN, ["--free-bind", "::1", "0"], "setsockopt", r"IPV6_FREEBIND", "ENOPROTOOPT", FAILURE,
          ["IPV6_FREEBIND", "Protocol not available"]),
    Fault(TCP_LISTEN, ["--bind-to-device", "lo", "127.0.0.1", "0"], "setsockopt", r"SO_BINDTODEVICE", "EPERM",
          FAILURE, ["SO_BINDTODEVICE lo", "Operation not permitted"]),
    # The interface is looked up while planning: a failed look-up is not "no such interface".
    Fault(TCP_LISTEN, ["--bind-to-device", "lo", "127.0.0.1", "0"], "ioctl", r"SIOCGIFINDEX", "ENODEV", FAILURE,
          ["--bind-to-device: no network interface lo"]),
    Fault(TCP_LISTEN, ["--bind-to-device", "lo", "127.0.0.1", "0"], "ioctl", r"SIOCGIFINDEX", "EFAULT", FAILURE,
          ["--bind-to-device lo: Bad address"]),
    Fault(TCP_LISTEN, ["--bind-to-device", "lo", "127.0.0.1", "0"], "socket", r"^AF_UNIX, SOCK_DGRAM", "EMFILE",
          FAILURE, ["--bind-to-device lo: Too many open files"]),
    Fault(TCP_LISTEN, ["--free-bind", "fe80::1%lo", "0"], "ioctl", r"SIOCGIFINDEX", "ENODEV", FAILURE,
          ["HOST: no network interface lo"]),
    Fault(TCP_LISTEN, ["127.0.0.1", "0"], "bind", r"AF_INET", "EADDRINUSE", FAILURE,
          ["127.0.0.1 port 0: Address already in use"]),
    Fault(TCP_LISTEN, ["::", "0"], "bind", r"AF_INET6", "EACCES", FAILURE, [":: port 0: Permission denied"]),
    Fault(TCP_LISTEN, ["127.0.0.1", "0"], "listen", r"", "EADDRINUSE", FAILURE,
          ["127.0.0.1 port 0: Address already in use"]),
    Fault(TCP_LISTEN, ["127.0.0.1", "0"], "fcntl", r"^3, F_SETFD, 0", "EIO", FAILURE,
          ["descriptor 3", "Input/output error"]),
    # udp-socket-listen: the same steps but listen(2), and no SO_REUSEADDR.
    Fault(UDP_LISTEN, ["127.0.0.1", "0"], "socket", r"^AF_INET, SOCK_DGRAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"]),
    Fault(UDP_LISTEN, ["::", "0"], "setsockopt", r"IPV6_V6ONLY", "EINVAL", FAILURE,
          ["IPV6_V6ONLY", "Invalid argument"]),
    Fault(UDP_LISTEN, ["--reuse-port", "127.0.0.1", "0"], "setsockopt", r"SO_REUSEPORT", "ENOPROTOOPT", FAILURE,
          ["SO_REUSEPORT", "Protocol not available"]),
    Fault(UDP_LISTEN, ["127.0.0.1", "0"], "bind", r"AF_INET", "EADDRINUSE", FAILURE,
          ["127.0.0.1 port 0: Address already in use"]),
    Fault(UDP_LISTEN, ["127.0.0.1", "0"], "fcntl", r"^3, F_SETFD, 0", "EIO", FAILURE,
          ["descriptor 3", "Input/output error"]),
    Fault(LISTEN, ["--systemd-compatibility", "{dir}/s", UDP_LISTEN, "--systemd-compatibility", "127.0.0.1", "0"],
          "bind", r"AF_INET", "EADDRINUSE", FAILURE, ["127.0.0.1 port 0: Address already in use"],
          applet_named=UDP_LISTEN, leaves=[]),
    # After a local listener: its socket file goes when the TCP socket cannot be had.
    Fault(LISTEN, ["--systemd-compatibility", "{dir}/s", TCP_LISTEN, "--systemd-compatibility", "127.0.0.1", "0"],
          "bind", r"AF_INET", "EADDRINUSE", FAILURE, ["127.0.0.1 port 0: Address already in use"],
          applet_named=TCP_LISTEN, leaves=[]),
    # local-stream-socket-connect, to the socket the listener before it made (the backlog takes it).
    Fault(LISTEN, ["{dir}/s", LCONNECT, "{dir}/s"], "socket", r"^AF_UNIX, SOCK_STREAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"], applet_named=LCONNECT, leaves=[], nth=2),
    Fault(LISTEN, ["{dir}/s", LCONNECT, "{dir}/s"], "connect", r'/s"', "EACCES", FAILURE,
          ["{dir}/s: Permission denied"], applet_named=LCONNECT, leaves=[]),
    Fault(LISTEN, ["{dir}/s", LCONNECT, "{dir}/s"], "connect", r'/s"', "EINTR", OK, [],
          leaves=["s"]),
    Fault(LISTEN, ["{dir}/s", LCONNECT, "{dir}/s"], "getsockopt", r"SO_PEERCRED", "ENOBUFS", FAILURE,
          ["SO_PEERCRED", "No buffer space available"], applet_named=LCONNECT, leaves=[]),
    Fault(LISTEN, ["{dir}/s", LCONNECT, "{dir}/s"], "dup2|dup3", r"^\d+, 7", "EBADF", FAILURE,
          ["descriptor 7", "Bad file descriptor"], applet_named=LCONNECT, leaves=[]),
    # tcp-socket-connect, to a server of the test's own on 127.0.0.1 {port}.
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "socket", r"^AF_INET, SOCK_STREAM", "EMFILE", FAILURE,
          ["socket", "Too many open files"]),
    Fault(TCP_CONNECT, ["--local-address", "127.0.0.1", "127.0.0.1", "{port}"], "bind", r"AF_INET",
          "EADDRINUSE", FAILURE, ["127.0.0.1 port 0: Address already in use"]),
    Fault(TCP_CONNECT, ["--local-port", "40999", "127.0.0.1", "{port}"], "setsockopt", r"SO_REUSEADDR",
          "ENOPROTOOPT", FAILURE, ["SO_REUSEADDR", "Protocol not available"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "connect", r"AF_INET", "ECONNREFUSED", FAILURE,
          ["127.0.0.1 port {port}: Connection refused"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "connect", r"AF_INET", "ENETUNREACH", FAILURE,
          ["127.0.0.1 port {port}: Network is unreachable"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "connect", r"AF_INET", "EINTR", OK, []),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "poll|ppoll", r"POLLOUT", "EINTR", OK, []),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "poll|ppoll", r"POLLOUT", "ENOMEM", FAILURE,
          ["127.0.0.1 port {port}: Cannot allocate memory"]),
    # A poll that says the time ran out.
    Fault(TCP_CONNECT, ["--connect-timeout", "5", "127.0.0.1", "{port}"], "poll|ppoll", r"POLLOUT", "retval=0",
          FAILURE, ["127.0.0.1 port {port}: Connection timed out"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "getsockopt", r"SO_ERROR", "EBADF", FAILURE,
          ["127.0.0.1 port {port}: Bad file descriptor"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "getsockname", r"", "ENOBUFS", FAILURE,
          ["descriptor 3: No buffer space available"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "getpeername", r"", "ENOTCONN", FAILURE,
          ["descriptor 3: Transport endpoint is not connected"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "fcntl", r"^3, F_SETFL", "EIO", FAILURE,
          ["descriptor 3: Input/output error"]),
    Fault(TCP_CONNECT, ["127.0.0.1", "{port}"], "dup2|dup3", r"^3, 6", "EMFILE", FAILURE,
          ["descriptor 6", "Too many open files"]),
    # Readiness, signalled just before the final execve: a newline on descriptor 5, READY=1 to
    # NOTIFY_SOCKET ({notify}, setup "notify": what arrives there is checked too). A failure
    # is 111 named by the listen link that asked, the program never runs, the node goes.
    Fault(LISTEN, ["--notify-fd", "5", "{dir}/s"], "write", r'^5, "\\n"', "EPIPE", FAILURE,
          ["--notify-fd descriptor 5: Broken pipe"], leaves=[]),
    Fault(LISTEN, ["--notify-fd", "5", "{dir}/s"], "write", r'^5, "\\n"', "EBADF", FAILURE,
          ["--notify-fd descriptor 5: Bad file descriptor"], leaves=[]),
    Fault(LISTEN, ["--notify-fd", "5", "{dir}/s"], "write", r'^5, "\\n"', "EINTR", OK, [], leaves=["s"]),
    # After a later link, the message still names the listen link; with both
    # options, a newline that fails stops the chain before READY=1 is sent.
    Fault(LISTEN, ["--notify-fd", "5", "--sd-notify", "{dir}/s", "fdmove", "9", "8"], "write", r'^5, "\\n"',
          "EPIPE", FAILURE, ["--notify-fd descriptor 5: Broken pipe"], setup="notify", leaves=[]),
    Fault(LISTEN, ["--sd-notify", "{dir}/s"], "socket", r"^AF_UNIX, SOCK_DGRAM", "EMFILE", FAILURE,
          ["--sd-notify: socket: Too many open files"], setup="notify", leaves=[]),
    Fault(LISTEN, ["--sd-notify", "{dir}/s"], "sendto|sendmsg", r"READY=1", "ECONNREFUSED", FAILURE,
          ["--sd-notify: NOTIFY_SOCKET {notify}: Connection refused"], setup="notify", leaves=[]),
    Fault(LISTEN, ["--sd-notify", "{dir}/s"], "sendto|sendmsg", r"READY=1", "EAGAIN", FAILURE,
          ["--sd-notify: NOTIFY_SOCKET {notify}: Resource temporarily unavailable"], setup="notify", leaves=[]),
    Fault(LISTEN, ["--sd-notify", "{dir}/s"], "sendto|sendmsg", r"READY=1", "EINTR", OK, [], setup="notify",
          leaves=["s"]),
    Fault(UDP_LISTEN, ["--sd-notify", "127.0.0.1", "0"], "sendto|sendmsg", r"READY=1", "ENOENT", FAILURE,
          ["--sd-notify: NOTIFY_SOCKET {notify}: No such file or directory"], setup="notify"),
    Fault(SEQ_LISTEN, ["--notify-fd", "5", "{dir}/s"], "write", r'^5, "\\n"', "EPIPE", FAILURE,
          ["--notify-fd descriptor 5: Broken pipe"], leaves=[]),
]


# The process-state links. envdir reads a directory made here, holding one variable.
import atexit  # noqa: E402

_ENVDIR_HOME = tempfile.mkdtemp(prefix="toolkit-faults-envdir-")
atexit.register(shutil.rmtree, _ENVDIR_HOME, ignore_errors=True)
ENVDIR = os.path.join(_ENVDIR_HOME, "env")
os.mkdir(ENVDIR)
with open(os.path.join(ENVDIR, "VAR"), "w") as _f:
    _f.write("value\n")

FAULTS += [
    # envdir: read while planning (the first of each call), and again when it runs.
    Fault("envdir", [ENVDIR], "openat", r'"' + re.escape(ENVDIR) + r'", O_RDONLY\|O_CLOEXEC\|O_DIRECTORY',
          "EACCES", FAILURE, [ENVDIR, "Permission denied"]),
    Fault("envdir", [ENVDIR], "getdents64|getdents", r"", "EIO", FAILURE, [ENVDIR, "Input/output error"]),
    Fault("envdir", [ENVDIR], "openat", r'^\d+, "VAR"', "EACCES", FAILURE, [ENVDIR + "/VAR", "Permission denied"]),
    Fault("envdir", [ENVDIR], STAT, r'^\d+, "", \{st_mode=S_IFREG\|0644, st_size=6,', "EIO", FAILURE,
          [ENVDIR + "/VAR", "Input/output error"]),
    Fault("envdir", [ENVDIR], "read", r'"value\\n"', "EIO", FAILURE, [ENVDIR + "/VAR", "Input/output error"]),
    Fault("envdir", [ENVDIR], "read", r'"value\\n"', "EINTR", OK, []),
    Fault("envdir", [ENVDIR], "openat", r'^\d+, "VAR"', "EACCES", FAILURE, [ENVDIR + "/VAR", "Permission denied"],
          nth=2),
    # setlock: the directory is checked while planning; the file is opened and locked when it runs.
    Fault("setlock", ["{dir}/lock"], "openat", r'/", O_RDONLY\|O_CLOEXEC\|O_PATH\|O_DIRECTORY', "EACCES",
          FAILURE, ["{dir}/lock", "Permission denied"], leaves=[]),
    Fault("setlock", ["{dir}/lock"], "openat", r'/lock", O_RDONLY\|O_CREAT', "EACCES", FAILURE,
          ["{dir}/lock", "Permission denied"], leaves=[]),
    Fault("setlock", ["{dir}/lock"], STAT, r'^10, "", \{st_mode=S_IFREG\|0600', "EIO", FAILURE,
          ["{dir}/lock", "Input/output error"]),
    Fault("setlock", ["{dir}/lock"], "flock", r"LOCK_EX", "EINTR", OK, []),
    Fault("setlock", ["{dir}/lock"], "flock", r"LOCK_EX", "ENOLCK", FAILURE, ["{dir}/lock", "No locks available"]),
    Fault("setlock", ["-n", "{dir}/lock"], "flock", r"LOCK_EX\|LOCK_NB", "EAGAIN", FAILURE,
          ["{dir}/lock", "locked by another process"]),
    Fault("setlock", ["{dir}/lock"], "fcntl", r"^10, F_SETFD, 0", "EIO", FAILURE, ["descriptor 10", "Input/output error"]),
    # softlimit: getrlimit and setrlimit are prlimit64 in the C library.
    Fault("softlimit", ["-o", "100"], "prlimit64|getrlimit", r"RLIMIT_NOFILE, NULL", "EINVAL", FAILURE,
          ["-o", "Invalid argument"]),
    Fault("softlimit", ["-o", "100"], "prlimit64|setrlimit", r"RLIMIT_NOFILE, \{", "EPERM", FAILURE,
          ["-o", "Operation not permitted"]),
    Fault("softlimit", ["-m", "64000000"], "prlimit64|setrlimit", r"RLIMIT_AS, \{", "EINVAL", FAILURE,
          ["-m", "Invalid argument"]),
    # chdir
    Fault("chdir", ["{dir}"], "openat", r"O_PATH\|O_DIRECTORY", "EACCES", FAILURE, ["{dir}", "Permission denied"]),
    Fault("chdir", ["{dir}"], "chdir", r"", "EACCES", FAILURE, ["{dir}", "Permission denied"]),
    # chroot: the final program is looked up in the new root with openat2, or openat before Linux 5.6.
    Fault("chroot", ["/"], "openat", r'^AT_FDCWD, "/", O_RDONLY\|O_CLOEXEC\|O_PATH\|O_DIRECTORY', "EACCES",
          FAILURE, ["/", "Permission denied"]),
    Fault("chroot", ["/"], "openat2", r'/printenv", .*\) = \d', "ENOSYS", OK, []),
    # A candidate that cannot be opened is passed over for the next one of PATH (/bin after /usr/bin).
    Fault("chroot", ["/"], "openat2", r'/printenv", .*\) = \d', "EACCES", OK, []),
    Fault("chroot", ["/"], "chroot", r"", "EPERM", FAILURE, ["/", "Operation not permitted"]),
    Fault("chroot", ["/"], "chdir", r'^"/"', "EACCES", FAILURE, ["chdir /", "Permission denied"]),
    # setsid
    Fault("setsid", [], "setsid", r"", "EPERM", FAILURE, ["setsid", "already a process group leader"]),
    # envuidgid, and setuidgid-fromenv after the variables are set
    Fault("envuidgid", ["daemon"], "openat|open", r'"/etc/passwd"', "EACCES", FAILURE, [passwd_fragment()]),
    Fault("setenv", ["UID", "1", "setenv", "GID", "1", "setuidgid-fromenv"], "setgroups", r"", "EPERM", FAILURE,
          ["setgroups", "Operation not permitted"], applet_named="setuidgid-fromenv"),
    Fault("setenv", ["UID", "1", "setenv", "GID", "1", "setuidgid-fromenv"], "setuid", r"^1\)", "EAGAIN",
          FAILURE, ["setuid 1", "Resource temporarily unavailable"], applet_named="setuidgid-fromenv"),
    # ucspi-socket-rules-check, planning: {dir}/rules holds "* allow" (setup "rules").
    # A file that cannot be read when the chain is planned is 111 naming it;
    # the same failures for a connection deny it (RULES_CONNECTION_FAULTS).
    Fault(RULES, ["--rules", "{dir}/rules"], "openat|open", r'/rules"', "EACCES", FAILURE,
          ["{dir}/rules", "Permission denied"], setup="rules"),
    Fault(RULES, ["--rules", "{dir}/rules"], STAT, r"st_size=8,", "EIO", FAILURE,
          ["{dir}/rules", "Input/output error"], setup="rules"),
    Fault(RULES, ["--rules", "{dir}/rules"], "read", r'^\d+, "\* allow', "EIO", FAILURE,
          ["{dir}/rules", "Input/output error"], setup="rules"),
    Fault(RULES, ["--rules", "{dir}/rules"], "read", r'^\d+, "\* allow', "EINTR", OK, [], setup="rules"),
    # A user: rule is resolved while planning; the static build reads /etc/passwd
    # itself, and one it cannot read is 111. (Through NSS the answer depends on
    # nsswitch.conf: a later source may well say "no such user", 100.)
    *([Fault(RULES, ["--rules", "{dir}/rules"], "openat|open", r'"/etc/passwd"', "EACCES", FAILURE,
             ["{dir}/rules:1: ", "/etc/passwd: Permission denied"], setup="user-rules")] if STATIC else []),
    Fault(LISTEN, ["{dir}/s", RULES, "--rules", "{dir}/rules"], "openat|open", r'/rules"', "EMFILE", FAILURE,
          ["{dir}/rules", "Too many open files"], applet_named=RULES, setup="rules", leaves=["rules"]),
]

# The same calls, made again for the connection (the second of each): the
# connection is denied, exit 0, with one ERROR line, and nothing runs.
RULES_CONNECTION_FAULTS = [
    Fault(RULES, ["--rules", "{dir}/rules"], "openat|open", r'/rules"', "EACCES", OK,
          ["{dir}/rules: Permission denied (the connection is denied)"], setup="rules", nth=2),
    Fault(RULES, ["--rules", "{dir}/rules"], STAT, r"st_size=8,", "EIO", OK,
          ["{dir}/rules: Input/output error (the connection is denied)"], setup="rules", nth=2),
    Fault(RULES, ["--rules", "{dir}/rules"], "read", r'^\d+, "\* allow', "EIO", OK,
          ["{dir}/rules: Input/output error (the connection is denied)"], setup="rules", nth=2),
]


ACCEPT = "local-stream-socket-accept"
A_ERROR = ACCEPT + ": ERROR: "
A_FATAL = ACCEPT + ": FATAL: "
SEQ_ACCEPT = "local-seqpacket-socket-accept"
SEQ_ERROR = SEQ_ACCEPT + ": ERROR: "
SEQ_FATAL = SEQ_ACCEPT + ": FATAL: "
REPLY = b"reply\n"
# What each connection runs: exec'd straight from the server (a child that
# shares its memory until the execve), or, when an applet comes next, a fork
# that goes on with the chain.
SPAWNED = ["echo", "reply"]
FORKED = ["fdmove", "2", "2", "echo", "reply"]
STATIC_ECHO = [shutil.which("busybox") or "/bin/busybox", "echo", "reply"]
TRANSIENT = {"EMFILE": "Too many open files", "ENFILE": "Too many open files in system",
             "ENOBUFS": "No buffer space available", "ENOMEM": "Cannot allocate memory",
             "EPROTO": "Protocol error", "EPERM": "Operation not permitted",
             "ECONNABORTED": "Software caused connection abort", "EINTR": "Interrupted system call"}

# The server is started on a listening socket made here (fdmove puts it on 3),
# then two clients connect one after the other and read what they get.
# status None: the server must still be running afterwards, with no zombie.
SERVER_FAULTS = [
    *[Fault(ACCEPT, SPAWNED, "accept4|accept", r"^3,", name, None, [], replies=[REPLY, REPLY],
            lines=[re.escape(A_ERROR + "accept on descriptor 3: " + text)])
      for name, text in TRANSIENT.items()],
    Fault(ACCEPT, SPAWNED, "accept4|accept", r"^3,", "EINVAL", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "accept on descriptor 3: Invalid argument")]),
    Fault(ACCEPT, SPAWNED, "poll|ppoll", r"", "EINTR", None, [], replies=[REPLY, REPLY], lines=[]),
    Fault(ACCEPT, SPAWNED, "poll|ppoll", r"", "ENOMEM", None, [], replies=[REPLY, REPLY],
          lines=[re.escape(A_ERROR + "poll: Cannot allocate memory")]),
    # No stacks for children sharing the server's memory: every child is a fork, silently.
    # (The handler is static busybox, which makes neither call: strace fails the
    # n-th call of every process, and a dynamic echo would die of it.)
    Fault(ACCEPT, STATIC_ECHO, "mmap", r"MAP_STACK", "ENOMEM", None, [], replies=[REPLY, REPLY],
          lines=[]),
    Fault(ACCEPT, STATIC_ECHO, "mprotect", r"PROT_NONE", "ENOMEM", None, [], replies=[REPLY, REPLY],
          lines=[]),
    # A child sharing the server's memory refused outright: the server forks from then on.
    Fault(ACCEPT, SPAWNED, "clone|clone3", r"CLONE_VM", "EPERM", None, [], replies=[REPLY, REPLY],
          lines=[]),
    Fault(ACCEPT, SPAWNED, "clone|clone3", r"", "EAGAIN", None, [], replies=[b"", REPLY],
          lines=[re.escape(A_ERROR + "starting a child: Resource temporarily unavailable")]),
    Fault(ACCEPT, FORKED, "clone|clone3|fork|vfork", r"", "EAGAIN", None, [], replies=[b"", REPLY],
          lines=[re.escape(A_ERROR + "starting a child: Resource temporarily unavailable")]),
    # In the children (strace counts per process, so every child's call fails).
    Fault(ACCEPT, SPAWNED, "execve", r"echo", "EACCES", None, [], replies=[b"", b""],
          lines=[re.escape(A_FATAL) + r"\S*/echo: Permission denied"] * 2),
    Fault(ACCEPT, FORKED, "execve", r"echo", "ENOENT", None, [], replies=[b"", b""],
          lines=[r"fdmove: FATAL: \S*/echo: No such file or directory"
                 r" \(its #! interpreter or loader was not found\)"] * 2),
    Fault(ACCEPT, FORKED, "dup2|dup3", r"^\d+, 0", "EBADF", None, [], replies=[b"", b""],
          lines=[re.escape(A_FATAL) + r"descriptors? 0.*: Bad file descriptor"] * 2),
    Fault(ACCEPT, SPAWNED, "dup2|dup3", r"^\d+, 0", "EBADF", None, [], replies=[b"", b""],
          lines=[re.escape(A_FATAL) + r"descriptors? 0.*: Bad file descriptor"] * 2),
    Fault(ACCEPT, SPAWNED, "getsockopt", r"SO_PEERCRED", "ENOBUFS", None, [], replies=[b"", REPLY],
          lines=[re.escape(A_ERROR + "peer credentials: No buffer space available")]),
    # Starting up.
    Fault(ACCEPT, SPAWNED, "getsockopt", r"SO_ACCEPTCONN", "EBADF", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "descriptor 3: Bad file descriptor")]),
    Fault(ACCEPT, SPAWNED, "getsockname", r"^3,", "ENOBUFS", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "descriptor 3: No buffer space available")]),
    Fault(ACCEPT, SPAWNED, "fcntl", r"^3, F_SETFL", "EIO", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "descriptor 3: Input/output error")]),
    Fault(ACCEPT, SPAWNED, "rt_sigprocmask", r"^SIG_BLOCK, \[CHLD\]", "EINVAL", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "sigprocmask: Invalid argument")]),
    # local-seqpacket-socket-accept: the same loop on SOCK_SEQPACKET listeners.
    *[Fault(SEQ_ACCEPT, SPAWNED, "accept4|accept", r"^3,", name, None, [], replies=[REPLY, REPLY],
            lines=[re.escape(SEQ_ERROR + "accept on descriptor 3: " + TRANSIENT[name])])
      for name in ("EMFILE", "ECONNABORTED", "EINTR")],
    Fault(SEQ_ACCEPT, SPAWNED, "accept4|accept", r"^3,", "EINVAL", FAILURE, [], replies=[b"", None],
          lines=[re.escape(SEQ_FATAL + "accept on descriptor 3: Invalid argument")]),
    Fault(SEQ_ACCEPT, SPAWNED, "getsockopt", r"SO_PEERCRED", "ENOBUFS", None, [], replies=[b"", REPLY],
          lines=[re.escape(SEQ_ERROR + "peer credentials: No buffer space available")]),
    Fault(SEQ_ACCEPT, SPAWNED, "getsockopt", r"SO_TYPE", "EBADF", FAILURE, [], replies=[b"", None],
          lines=[re.escape(SEQ_FATAL + "descriptor 3: Bad file descriptor")]),
    Fault(ACCEPT, SPAWNED, "signalfd4|signalfd", r"", "EMFILE", FAILURE, [], replies=[b"", None],
          lines=[re.escape(A_FATAL + "signalfd: Too many open files")]),
]


TCP_ACCEPT = "tcp-socket-accept"
T_ERROR = TCP_ACCEPT + ": ERROR: "
T_FATAL = TCP_ACCEPT + ": FATAL: "
# Not the listener (3) nor the signalfd: the connection's descriptor.
CONNECTION_FD = r"^([5-9]|\d\d+),"

# tcp-socket-accept, on a listener on 127.0.0.1 (setup "wildcard": on ::, whose
# connections need a getsockname each); the clients connect to 127.0.0.1.
TCP_SERVER_FAULTS = [
    *[Fault(TCP_ACCEPT, SPAWNED, "accept4|accept", r"^3,", name, None, [], replies=[REPLY, REPLY],
            lines=[re.escape(T_ERROR + "accept on descriptor 3: " + text)])
      for name, text in TRANSIENT.items()],
    Fault(TCP_ACCEPT, SPAWNED, "accept4|accept", r"^3,", "EINVAL", FAILURE, [], replies=[b"", None],
          lines=[re.escape(T_FATAL + "accept on descriptor 3: Invalid argument")]),
    Fault(TCP_ACCEPT, SPAWNED, "accept4|accept", r"^3,", "ENOTSOCK", FAILURE, [], replies=[b"", None],
          lines=[re.escape(T_FATAL + "accept on descriptor 3: Socket operation on non-socket")]),
    # Per connection: that connection is closed, the next one is served.
    Fault(TCP_ACCEPT, ["-k"] + SPAWNED, "setsockopt", r"SO_KEEPALIVE", "ENOBUFS", None, [],
          replies=[b"", REPLY], lines=[re.escape(T_ERROR + "SO_KEEPALIVE: No buffer space available")]),
    Fault(TCP_ACCEPT, ["-D"] + FORKED, "setsockopt", r"TCP_NODELAY", "ENOMEM", None, [],
          replies=[b"", REPLY], lines=[re.escape(T_ERROR + "TCP_NODELAY: Cannot allocate memory")]),
    Fault(TCP_ACCEPT, SPAWNED, "getsockname", CONNECTION_FD, "ENOBUFS", None, [], setup="wildcard",
          replies=[b"", REPLY],
          lines=[re.escape(T_ERROR + "local address of a connection: No buffer space available")]),
    Fault(TCP_ACCEPT, SPAWNED, "clone|clone3", r"", "EAGAIN", None, [], replies=[b"", REPLY],
          lines=[re.escape(T_ERROR + "starting a child: Resource temporarily unavailable")]),
    Fault(TCP_ACCEPT, SPAWNED, "execve", r"echo", "EACCES", None, [], replies=[b"", b""],
          lines=[re.escape(T_FATAL) + r"\S*/echo: Permission denied"] * 2),
    # Starting up: the listener is checked, and its address read once.
    Fault(TCP_ACCEPT, SPAWNED, "getsockopt", r"SO_PROTOCOL", "EBADF", FAILURE, [], replies=[b"", None],
          lines=[re.escape(T_FATAL + "descriptor 3: Bad file descriptor")]),
    Fault(TCP_ACCEPT, SPAWNED, "getsockname", r"^3,", "ENOBUFS", FAILURE, [], replies=[b"", None],
          lines=[re.escape(T_FATAL + "descriptor 3: No buffer space available")]),
    Fault(TCP_ACCEPT, SPAWNED, "fcntl", r"^3, F_SETFL", "EIO", FAILURE, [], replies=[b"", None],
          lines=[re.escape(T_FATAL + "descriptor 3: Input/output error")]),
]

def format_matrix():
    def unescape(pattern):
        return re.sub(r"\\(.)", r"\1", pattern.replace(r"\S*", "...").replace(".*", "..."))

    def client(reply):
        return "refused" if reply is None else "EOF" if reply == b"" else "served"

    lines = ["| applet and arguments | syscall | which call | injected | status | stderr holds | afterwards | note |",
             "|---|---|---|---|---|---|---|---|"]
    for fault in FAULTS + SERVER_FAULTS + TCP_SERVER_FAULTS:
        if fault.lines is not None:  # a server
            status = "server runs on" if fault.status is None else f"{fault.status}"
            said = [unescape(line) for line in fault.lines]
            held = ("; ".join(dict.fromkeys(said)) + (f" (x{len(said)})" if len(said) > 1 else "")) or "(nothing)"
            after = "clients: " + ", ".join(client(reply) for reply in fault.replies)
        else:
            status = "0, chain goes on" if fault.status == OK else f"{fault.status}"
            held = ", ".join(fault.fragments) or "(nothing)"
            after = "" if fault.leaves is None else "dir empty" if fault.leaves == [] else "dir: " + ",".join(fault.leaves)
            if fault.setup == "stale":
                after += " (stale socket there before)"
            if fault.setup == "notify":
                after += " (NOTIFY_SOCKET got " + ("one READY=1)" if fault.status == OK else "nothing)")
        note = "KNOWN BUG: " + fault.known_bug if fault.known_bug else ""
        cells = [f"{fault.applet} {' '.join(fault.args)}", fault.syscall.replace("|", " or "),
                 f"`{fault.match}`" if fault.match else "first", fault.error, status, held, after, note]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


class DiscardServer:
    """A TCP server on 127.0.0.1 for the clients under test: it takes every
    connection and closes it, so that its backlog never fills."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            connection.close()

    def close(self):
        self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self.thread.join(10)


class Faults(harness.ToolkitTestCase):
    @classmethod
    def setUpClass(cls):
        reason = strace_unusable()
        if reason:
            raise unittest.SkipTest(reason)
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, SPARE_FD)
        os.close(fd)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, NOTIFY_FD)
        os.close(fd)
        cls.notify_dir = tempfile.mkdtemp(prefix="toolkit-faults-notify-")
        cls.notify_path = os.path.join(cls.notify_dir, "notify")
        cls.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        cls.notify.bind(cls.notify_path)
        # The connection ucspi-socket-rules-check decides on (the others ignore it).
        cls.env = dict(os.environ, **{MARK: REACHED.strip(), "PROTO": "TCP", "TCPREMOTEIP": "127.0.0.1",
                                      "NOTIFY_SOCKET": cls.notify_path})
        cls.controls = {}
        cls.tcp_server = DiscardServer()

    @classmethod
    def tearDownClass(cls):
        cls.tcp_server.close()
        os.close(SPARE_FD)
        os.close(NOTIFY_FD)
        cls.notify.close()
        shutil.rmtree(cls.notify_dir, ignore_errors=True)

    def notifications(self):
        """Every datagram NOTIFY_SOCKET holds now (the runs before have ended)."""
        found = []
        self.notify.settimeout(None)  # MSG_DONTWAIT alone decides
        while True:
            try:
                found.append(self.notify.recv(64, socket.MSG_DONTWAIT))
            except BlockingIOError:
                return found

    def prepare(self, fault):
        """A fresh directory (and abstract name) for one run: argv and fragments filled in."""
        directory = tempfile.mkdtemp(prefix="toolkit-faults-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        names = {"dir": directory, "abstract": f"toolkit-faults-{os.getpid()}-{os.path.basename(directory)}",
                 "port": str(self.tcp_server.port), "notify": self.notify_path}
        if fault.setup in ("rules", "user-rules"):
            with open(os.path.join(directory, "rules"), "w") as rules:
                rules.write("* allow\n" if fault.setup == "rules" else "user:daemon allow\n* allow\n")
        if fault.setup == "stale":
            stale = socket.socket(socket.AF_UNIX, SOCKET_TYPE.get(fault.applet, socket.SOCK_STREAM))
            stale.bind(os.path.join(directory, "s"))
            stale.close()
        argv = [harness.applet_link(fault.applet)] + [a.format(**names) for a in fault.args] + END
        return argv, directory, [f.format(**names) for f in fault.fragments]

    def control(self, fault):
        """The same command without a fault must reach the end of the chain,
        or the fault tests prove nothing."""
        key = (fault.applet, tuple(fault.args), fault.setup)
        if key not in self.controls:
            argv, _, _ = self.prepare(fault)
            result = harness.run(argv, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
            self.assertClean(result, REACHED)
            self.controls[key] = True

    def check(self, fault):
        if "setuidgid" in [fault.applet] + fault.args and os.geteuid() != 0:
            self.skipTest("changing identity needs root")
        self.control(fault)
        argv, _, _ = self.prepare(fault)
        where = locate(argv, fault, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
        # A call that is no longer made would silently take its case with it: fail instead.
        self.assertIsNotNone(where, f"{fault.applet} makes no {fault.syscall} call matching "
                                    f"{fault.match!r}: update the table")
        argv, directory, fragments = self.prepare(fault)
        self.notifications()  # what the runs without a fault sent
        result, injected = inject_run(argv, fault, where, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
        self.assertTrue(injected, f"strace did not inject into {where}: {result.stderr!r}")
        self.assertGreaterEqual(result.returncode, 0, f"killed by signal {-result.returncode}: {result.stderr!r}")
        if fault.setup == "notify":
            self.assertEqual(self.notifications(), [b"READY=1"] if fault.status == OK else [],
                             "what NOTIFY_SOCKET received")
        if fault.status == OK:
            self.assertClean(result, REACHED)
        else:
            self.assertFatal(result, fault.applet_named or fault.applet, fault.status, *fragments)
            self.assertEqual(result.stdout, "", "the next program ran after a failure")
        if fault.leaves is not None:
            self.assertEqual(sorted(os.listdir(directory)), sorted(fault.leaves),
                             "what the run left in its directory")
            if fault.setup == "stale" and "s" in fault.leaves:
                self.assertTrue(stat.S_ISSOCK(os.lstat(os.path.join(directory, "s")).st_mode))

    def test_umask_is_restored_for_the_next_program(self):
        """--mode works through the umask while binding; the next program gets the old one back."""
        directory = tempfile.mkdtemp(prefix="toolkit-faults-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        old = os.umask(0o027)
        try:
            result = harness.run([harness.applet_link(LISTEN), "-m", "0666", os.path.join(directory, "s"),
                                  harness.PYTHON, "-c", "import os; print(oct(os.umask(0)))"])
        finally:
            os.umask(old)
        self.assertClean(result, "0o27\n")
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(directory, "s")).st_mode), 0o666)


    def test_a_server_that_cannot_signal_stops_before_it_serves(self):
        """With an accept link, the server signals once its listeners are checked
        (the newline first, then READY=1); when that fails it stops there: 111
        named by the listen link that asked, nothing sent after, no connection
        served, the node gone."""
        for syscall, match, error, fragment in (
                ("write", r'^5, "\\n"', "EPIPE", "--notify-fd descriptor 5: Broken pipe"),
                ("sendto", r"READY=1", "ECONNREFUSED",
                 f"--sd-notify: NOTIFY_SOCKET {self.notify_path}: Connection refused")):
            with self.subTest(syscall=syscall):
                directory = tempfile.mkdtemp(prefix="toolkit-faults-")
                self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
                node = os.path.join(directory, "s")
                argv = [harness.applet_link(LISTEN), "--notify-fd", "5", "--sd-notify", node, ACCEPT] + END
                fault = Fault(LISTEN, [], syscall, match, error, FAILURE, [])
                # Which call it is: the server, traced, runs until READY=1 has come.
                self.notifications()
                server = TracedServer(argv, ["-e", trace_spec(syscall)], env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
                self.notify.settimeout(CLIENT_TIMEOUT)
                try:
                    self.assertEqual(self.notify.recv(64), b"READY=1")
                finally:
                    _, _, lines = server.stop()
                os.unlink(node)
                where = find_in_trace(lines, fault)
                self.assertIsNotNone(where, f"no {syscall} call matching {match!r}")
                result, injected = inject_run(argv, fault, where, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
                self.assertTrue(injected, result.stderr)
                self.assertFatal(result, LISTEN, FAILURE, fragment)
                self.assertEqual(result.stdout, "")
                self.assertEqual(self.notifications(), [])
                self.assertEqual(os.listdir(directory), [])

    def check_denied(self, fault):
        """A failure while a connection is decided on denies it: exit 0, one ERROR line, nothing run."""
        self.control(fault)
        argv, _, _ = self.prepare(fault)
        where = locate(argv, fault, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
        self.assertIsNotNone(where, f"{fault.applet} makes no {fault.nth}th {fault.syscall} call matching "
                                    f"{fault.match!r}: update the table")
        argv, directory, fragments = self.prepare(fault)
        result, injected = inject_run(argv, fault, where, env=self.env, pass_fds=(SPARE_FD, NOTIFY_FD))
        self.assertTrue(injected, f"strace did not inject into {where}: {result.stderr!r}")
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "", "the next program ran after a failure")
        self.assertEqual(result.stderr, f"{fault.applet}: ERROR: {fragments[0]}\n")


def _add_tests():
    for index, fault in enumerate(RULES_CONNECTION_FAULTS):
        name = re.sub(r"\W+", "_", f"test_connection_{index:02d}_{fault.applet}_{fault.syscall}_{fault.error}").strip("_")
        setattr(Faults, name, lambda self, fault=fault: self.check_denied(fault))
    for index, fault in enumerate(FAULTS):
        name = re.sub(r"\W+", "_", f"test_{index:02d}_{fault.applet}_{fault.syscall}_{fault.error}").strip("_")
        test = lambda self, fault=fault: self.check(fault)  # noqa: E731
        if fault.known_bug:
            test = unittest.expectedFailure(test)
        setattr(Faults, name, test)


_add_tests()


def exchange(address, kind=socket.SOCK_STREAM):
    """Connect (to a path, or a (host, port) on loopback) with a socket of KIND, read
    to the end: the bytes read, or None when nobody accepts connections."""
    client = socket.socket(socket.AF_UNIX if isinstance(address, str) else socket.AF_INET, kind)
    client.settimeout(CLIENT_TIMEOUT)
    try:
        client.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        client.close()
        return None
    data = b""
    try:
        while chunk := client.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    finally:
        client.close()
    return data


def zombies(pid):
    found = []
    for child in children_of(pid):
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    found.append(child)
        except OSError:
            pass
    return found


class ServerFaultCase(harness.ToolkitTestCase):
    """An accept applet under strace: failures in the loop cost one connection at most."""

    @classmethod
    def setUpClass(cls):
        reason = strace_unusable()
        if reason:
            raise unittest.SkipTest(reason)

    def listener(self, fault):
        """The listening socket FAULT's server gets, and the address its clients connect to."""
        directory = tempfile.mkdtemp(prefix="toolkit-faults-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        path = os.path.join(directory, "s")
        kind = SOCKET_TYPE.get(fault.applet, socket.SOCK_STREAM)
        listener = socket.socket(socket.AF_UNIX, kind)
        listener.bind(path)
        listener.listen(8)
        return listener, path

    def serve(self, fault, options):
        listener, address = self.listener(fault)
        argv = [harness.applet_link("fdmove"), "3", str(listener.fileno()), fault.applet] + fault.args
        server = TracedServer(argv, options, pass_fds=(listener.fileno(),))
        listener.close()  # only the server holds it: when it ends, clients are refused
        replies = [exchange(address, SOCKET_TYPE.get(fault.applet, socket.SOCK_STREAM))
                   for _ in fault.replies]
        if fault.status is not None:  # it should be ending: give strace the time to see it
            try:
                server.strace.wait(timeout=CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        alive = server.running()
        if alive:
            pids = children_of(server.strace.pid)
            deadline = time.monotonic() + 5
            while pids and zombies(pids[0]) and time.monotonic() < deadline:
                select.select([], [], [], 0.05)
            leftover = zombies(pids[0]) if pids else []
        status, stderr, lines = server.stop()
        return replies, alive, status, stderr, lines, (leftover if alive else [])

    def check(self, fault):
        _, _, _, _, lines, _ = self.serve(dataclasses.replace(fault, replies=[REPLY], status=None), ["-e", trace_spec(fault.syscall)])
        where = find_in_trace(lines, fault)
        # A call the server no longer makes would silently take its case with it: fail instead.
        self.assertIsNotNone(where, f"no {fault.syscall} call matching {fault.match!r} in the server's trace")
        replies, alive, status, stderr, lines, leftover = self.serve(
            fault, ["-e", "trace=" + where.syscall, "-e", inject_spec(fault, where)])
        self.assertTrue(any("(INJECTED)" in line for line in lines), f"strace did not inject into {where}")
        self.assertEqual(replies, fault.replies, f"what the clients read; server said {stderr!r}")
        got = stderr.splitlines()
        self.assertEqual(len(got), len(fault.lines), f"stderr lines: {stderr!r}")
        for line, pattern in zip(got, fault.lines):
            self.assertRegex(line, "^" + pattern + "$")
        if fault.status is None:
            self.assertTrue(alive, f"the server stopped: {stderr!r}")
            self.assertEqual(leftover, [], "zombie children")
        else:
            self.assertFalse(alive, "the server is still running")
            self.assertEqual(status, fault.status)


class ServerFaults(ServerFaultCase):
    """local-stream-socket-accept (SERVER_FAULTS)."""


def _add_server_tests():
    for index, fault in enumerate(SERVER_FAULTS):
        name = re.sub(r"\W+", "_", f"test_{index:02d}_{fault.args[0]}_{fault.syscall}_{fault.match}_{fault.error}").strip("_")
        test = lambda self, fault=fault: self.check(fault)  # noqa: E731
        if fault.known_bug:
            test = unittest.expectedFailure(test)
        setattr(ServerFaults, name, test)


_add_server_tests()


class TcpServerFaults(ServerFaultCase):
    """tcp-socket-accept (TCP_SERVER_FAULTS): the same checks, on 127.0.0.1 (or ::) with clients on 127.0.0.1."""

    def listener(self, fault):
        wildcard = fault.setup == "wildcard"
        listener = socket.socket(socket.AF_INET6 if wildcard else socket.AF_INET, socket.SOCK_STREAM)
        if wildcard:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(("::" if wildcard else "127.0.0.1", 0))
        listener.listen(8)
        return listener, ("127.0.0.1", listener.getsockname()[1])


def _add_tcp_server_tests():
    for index, fault in enumerate(TCP_SERVER_FAULTS):
        name = re.sub(r"\W+", "_", f"test_{index:02d}_{fault.args[0]}_{fault.syscall}_{fault.match}_{fault.error}")
        test = lambda self, fault=fault: self.check(fault)  # noqa: E731
        setattr(TcpServerFaults, name.strip("_"), test)


_add_tcp_server_tests()

class InstallFaults(harness.ToolkitTestCase):
    """toolkit --install: a directory that cannot be used is one FATAL line and
    nothing made; a link that cannot be made is one ERROR line, and the others
    are still made and reported."""

    @classmethod
    def setUpClass(cls):
        reason = strace_unusable()
        if reason:
            raise unittest.SkipTest(reason)
        cls.applets = harness.run([harness.TOOLKIT, "--list"]).stdout.split()

    def directory(self):
        # Hard links need the binary's file system: work beside it.
        build = os.environ.get("TOOLKIT_BUILD_DIR", os.path.dirname(harness.TOOLKIT))
        directory = tempfile.mkdtemp(prefix="toolkit-install-faults-", dir=build)
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return directory

    def inject(self, argv, directory, syscall, match, error):
        fault = Fault("toolkit", [], syscall, match, error, FAILURE, [])
        where = locate(argv, fault)
        self.assertIsNotNone(where, f"--install makes no {syscall} call matching {match!r}")
        for name in os.listdir(directory):  # what the traced run made
            os.remove(os.path.join(directory, name))
        result, injected = inject_run(argv, fault, where)
        self.assertTrue(injected, f"strace did not inject into {where}: {result.stderr!r}")
        return result

    def test_the_directory_cannot_be_opened(self):
        directory = self.directory()
        result = self.inject([harness.TOOLKIT, "--install", "-s", directory], directory, "openat|open",
                             re.escape(directory) + r'".*O_DIRECTORY', "EACCES")
        self.assertFatal(result, "toolkit", FAILURE, directory, "Permission denied")
        self.assertEqual(result.stdout, "")
        self.assertEqual(os.listdir(directory), [])

    def test_one_link_cannot_be_made(self):
        for option, syscall, verb in (([], "linkat|link", "linked"), (["-s"], "symlinkat|symlink", "symlinked")):
            with self.subTest(syscall=syscall):
                directory = self.directory()
                first = self.applets[0]
                result = self.inject([harness.TOOLKIT, "--install"] + option + [directory], directory, syscall,
                                     re.escape(first) + '"', "ENOSPC")
                self.assertExit(result, FAILURE)
                self.assertEqual(result.stderr,
                                 f"toolkit: ERROR: {directory}/{first}: No space left on device\n")
                self.assertEqual(result.stdout, "".join(f"toolkit: {verb} {directory}/{name}\n"
                                                        for name in self.applets[1:]))
                self.assertEqual(sorted(os.listdir(directory)), sorted(self.applets[1:]))


if __name__ == "__main__":
    if sys.argv[1:] == ["--matrix"]:
        print(format_matrix())
        raise SystemExit(0)
    harness.main()

