#!/usr/bin/env python3
"""The straw man for the race harness: a listener that does what the original
manual page describes, by path: unlink PATH, bind, then chmod and chown PATH.
Usage: path-based-listen.py [--mode N] [--uid N] PATH NEXT-PROG [ARGS...]
Never install or use this: it exists to show that race.py catches the hole."""

import os
import socket
import sys


def main(argv):
    mode = uid = None
    while argv and argv[0].startswith("--"):
        option, value, argv = argv[0], argv[1], argv[2:]
        if option == "--mode":
            mode = int(value, 8)
        elif option == "--uid":
            uid = int(value)
        else:
            sys.exit(f"path-based-listen: unknown option {option}")
    path, program = argv[0], argv[1:]
    try:
        os.unlink(path)
    except OSError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        if mode is not None:
            os.chmod(path, mode)
        if uid is not None:
            os.chown(path, uid, -1)
    except OSError as e:
        sys.exit(f"path-based-listen: {path}: {e.strerror}")
    listener.listen(5)
    os.dup2(listener.fileno(), 3)
    os.execvp(program[0], program)


if __name__ == "__main__":
    main(sys.argv[1:])
