#!/usr/bin/env python3
"""The size budget of the static binary: the stripped binary with every applet,
and what one chain-loading applet adds to it.

Usage: tests/size/size_check.py [PATH/TO/toolkit]   (default: $TOOLKIT)

Only for the static build (TOOLKIT_STATIC=1, or unset and a binary without a
program interpreter); any other build exits 77 (skipped).

The marginal cost of an applet is measured exactly and without a rebuild: the
link command of the binary (from `ninja -t commands`) is run once more with
that applet's object left out of the applet library and a stub in its place
(an entry of the applet table that names the applet and plans nothing), so
the table keeps its shape. The two stripped binaries are compared by the bytes
of their sections (what the applet's code and data add); the file sizes are
shown too, but they also move by the padding that aligns segments. Each such
link is one link-time optimisation of the whole binary (about 10 s of processor).

Environment:
  TOOLKIT_SIZE_BUDGET           bytes allowed for the stripped binary (default 1677721, 1.6 MiB)
  TOOLKIT_APPLET_SIZE_BUDGET    bytes each measured applet may add (default 4096)
  TOOLKIT_SIZE_APPLETS          the applets to measure, comma-separated, or "all" for every
                                applet of commands/list (default: the process-state links of
                                SPEC section 11 that commands/list holds)
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

BINARY_BUDGET = int(os.environ.get("TOOLKIT_SIZE_BUDGET", 1677721))
APPLET_BUDGET = int(os.environ.get("TOOLKIT_APPLET_SIZE_BUDGET", 4096))
# An applet of its own may be given a budget here (none is: each stays within 4 KiB).
APPLET_BUDGETS = {}
PROCESS_STATE_LINKS = ["chdir", "chroot", "envdir", "envuidgid", "setenv", "setlock", "setsid",
                       "setuidgid-fromenv", "softlimit", "umask", "unsetenv"]

TOOLKIT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TOOLKIT", "build-static/toolkit"))
BUILD = os.path.abspath(os.environ.get("TOOLKIT_BUILD_DIR", os.path.dirname(TOOLKIT)))
SOURCE = os.path.abspath(os.environ.get("TOOLKIT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))


def stripped(binary, workdir):
    """(file bytes, section bytes) of BINARY once stripped."""
    out = os.path.join(workdir, os.path.basename(binary) + ".stripped")
    subprocess.run(["strip", "-o", out, binary], check=True)
    return os.path.getsize(out), section_bytes(out)


def section_bytes(path):
    """The bytes the file holds for its allocated sections (NOBITS, i.e. .bss, excluded)."""
    listing = subprocess.run(["readelf", "-W", "-S", path], check=True, capture_output=True, text=True).stdout
    total = 0
    for line in listing.splitlines():
#"  [ 1] .note.gnu.property NOTE  0000000000400270 000270 000040 00   A  0   0  8"
        fields = line.replace("[ ", "[").split()
        if len(fields) < 8 or not fields[0].startswith("[") or fields[0] == "[Nr]":
            continue
        kind, size, flags = fields[2], int(fields[5], 16), fields[7]
        if kind != "NOBITS" and "A" in flags:
            total += size
    return total


def link_command():
    """The toolkit's link command, as ninja runs it from the build directory."""
    commands = subprocess.run(["ninja", "-C", BUILD, "-t", "commands", "toolkit"], check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()
    return shlex.split(commands[-1])


def compile_command(source):
    """The compile command of SOURCE (a path under the source tree) and its directory."""
    with open(os.path.join(BUILD, "compile_commands.json")) as f:
        for entry in json.load(f):
            if os.path.realpath(os.path.join(entry["directory"], entry["file"])) == os.path.realpath(source):
                return shlex.split(entry["command"]), entry["directory"]
    raise RuntimeError(f"no compile command for {source}")


def without(applet, workdir):
    """Link the binary again, APPLET's object replaced by a stub; return its path."""
    identifier = applet.replace("-", "_")
    source = os.path.join(SOURCE, "commands", applet + ".cpp")
    command, directory = compile_command(source)
    stub_source = os.path.join(workdir, f"stub-{identifier}.cpp")
    stub_object = stub_source + ".o"
    with open(stub_source, "w") as f:
        f.write('#include "applet.hpp"\n'
                f'namespace toolkit::applets {{ extern const AppletInfo {identifier}{{'
                f'{{"{applet}", "", "", {{}}}}, nullptr}}; }}\n')
    compile_stub = []
    skip = 0
    for word in command:
        if skip:
            skip -= 1
        elif word in ("-MD",):
            pass
        elif word in ("-MQ", "-MF", "-o", "-c"):
            skip = 1
        else:
            compile_stub.append(word)
    subprocess.run(compile_stub + ["-o", stub_object, "-c", stub_source], cwd=directory, check=True)

    link = link_command()
    out = os.path.join(workdir, f"toolkit-without-{applet}")
    edited = []
    skip = 0
    for word in link:
        if skip:
            skip -= 1
            continue
        if word == "-o":
            edited += ["-o", out]
            skip = 1
        elif word.endswith("libtoolkit-applets.a"):
            edited += members_but(os.path.join(BUILD, word), f"commands_{applet}.cpp.o", workdir)
            edited.append(stub_object)
        else:
            edited.append(word)
    subprocess.run(edited, cwd=BUILD, check=True)
    return out


def members_but(archive, left_out, workdir):
    """The object files of ARCHIVE (thin or not), LEFT_OUT excepted."""
    names = subprocess.run(["ar", "t", archive], check=True, capture_output=True, text=True).stdout.split()
    if not any(os.path.basename(n) == left_out for n in names):
        raise RuntimeError(f"{archive} has no member {left_out}")
    base = os.path.dirname(archive)
    if all(os.path.exists(os.path.join(base, n)) for n in names):  # a thin archive: paths to the objects
        return [os.path.join(base, n) for n in names if os.path.basename(n) != left_out]
    extracted = os.path.join(workdir, "members")
    os.makedirs(extracted, exist_ok=True)
    subprocess.run(["ar", "x", os.path.abspath(archive)], cwd=extracted, check=True)
    return [os.path.join(extracted, n) for n in names if n != left_out]


def main():
    static = os.environ.get("TOOLKIT_STATIC")
    if static is None:  # run by hand: a dynamically linked binary names its program interpreter
        headers = subprocess.run(["readelf", "-l", TOOLKIT], capture_output=True, text=True).stdout
        static = "0" if "INTERP" in headers else "1"
    if static != "1":
        print("not the static build: the size budget is the static binary's (skipped)")
        return 77
    for tool in ("strip", "readelf", "ar", "ninja"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (skipped)")
            return 77
    failed = []
    with tempfile.TemporaryDirectory(prefix="toolkit-size-") as workdir:
        file_size, sections = stripped(TOOLKIT, workdir)
        print(f"stripped static binary: {file_size:,} bytes ({file_size / 1048576:.2f} MiB), "
              f"sections {sections:,} bytes; budget {BINARY_BUDGET:,} bytes")
        if file_size > BINARY_BUDGET:
            failed.append(f"the stripped binary is {file_size:,} bytes, over its budget of {BINARY_BUDGET:,}")
        with open(os.path.join(SOURCE, "commands", "list")) as f:
            listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
        chosen = os.environ.get("TOOLKIT_SIZE_APPLETS", "")
        if chosen == "all":
            applets = sorted(listed)
        elif chosen:
            applets = [a for a in chosen.split(",") if a]
        else:
            applets = [a for a in PROCESS_STATE_LINKS if a in listed]
        for applet in applets:
            budget = APPLET_BUDGETS.get(applet, APPLET_BUDGET)
            if applet not in listed:
                print(f"{applet}: not in commands/list (skipped)")
                continue
            other_file, other_sections = stripped(without(applet, workdir), workdir)
            added = sections - other_sections
            print(f"{applet}: adds {added:,} bytes of sections ({file_size - other_file:,} bytes of file); "
                  f"budget {budget:,} bytes")
            if added > budget:
                failed.append(f"{applet} adds {added:,} bytes, over its budget of {budget:,}")
    for line in failed:
        print(f"FAIL: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
