#!/usr/bin/env python3
"""Write the bash completion for toolkit and its applets.

Everything it knows comes from the built binary: `toolkit --list` names the
applets and `toolkit APPLET --help` (printed from each applet's option table)
gives the options, which of them take a value, and how many operands come
before NEXT-PROG.  Usage: generate.py TOOLKIT FUNCTIONS OUTPUT
(FUNCTIONS: the hand-written completion functions appended after the tables)
"""
import re
import subprocess
import sys

OPTION_LINE = re.compile(
    r"^  (?:-(?P<short>[^\s,]), )?--(?P<long>[A-Za-z0-9][A-Za-z0-9-]*)"
    r"(?: (?P<value>[A-Z][A-Z0-9_-]*))?(?=\s|,|$)")


def run(*args):
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30, check=False)
    if done.returncode != 0:
        sys.exit(f"generate.py: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def value_kind(long_name, value_name):
    """What to offer for an option's value (or an operand): users, groups, files or nothing."""
    if value_name in ("ACCOUNT", "USER") or long_name.endswith("user"):
        return "user"
    if value_name == "GROUP" or long_name.endswith("group"):
        return "group"
    if value_name in ("PATH", "FILE", "DIRECTORY", "DIR"):
        return "file"
    return "none"


def describe(toolkit, applet):
    text = run(toolkit, applet, "--help")
    lines = text.splitlines()
    usage = lines[0].split()
    if len(usage) < 2 or usage[0] != "Usage:" or usage[1] != applet:
        sys.exit(f"generate.py: unexpected usage line from {applet} --help: {lines[0]!r}")
    words = [w for w in usage[2:] if w != "[OPTIONS]"]
    if "NEXT-PROG" not in words:
        sys.exit(f"generate.py: {applet} --help names no NEXT-PROG: {lines[0]!r}")
    operands = words[:words.index("NEXT-PROG")]
    options, valued = [], []
    for line in lines:
        match = OPTION_LINE.match(line)
        if not match:
            continue
        long_name = "--" + match["long"]
        # "-?" is left out: compgen -W would expand it as a glob.
        short = match["short"] if match["short"] and match["short"] != "?" else None
        names = [long_name] + (["-" + short] if short else [])
        options += names
        if match["value"]:
            kind = value_kind(match["long"], match["value"])
            valued += [f"{name}={kind}" for name in names]
    for extra in ("--help", "--usage"):
        if extra not in options:
            options.append(extra)
    return options, valued, [value_kind("", w) for w in operands]


def shell_words(items):
    return " ".join(items)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: generate.py TOOLKIT FUNCTIONS OUTPUT")
    toolkit, functions_file, output = sys.argv[1:]
    applets = run(toolkit, "--list").split()
    if not applets:
        sys.exit("generate.py: toolkit --list printed no applets")
    out = [
        "# bash completion for toolkit and its applets.",
        "# Generated from `toolkit --list` and each applet's --help; do not edit.",
        "",
        f"_toolkit_applets='{shell_words(applets)}'",
        "declare -gA _toolkit_options=() _toolkit_valued=() _toolkit_operands=()",
    ]
    for applet in applets:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", applet):
            sys.exit(f"generate.py: unexpected applet name {applet!r}")
        options, valued, operands = describe(toolkit, applet)
        out.append(f"_toolkit_options[{applet}]='{shell_words(options)}'")
        out.append(f"_toolkit_valued[{applet}]='{shell_words(valued)}'")
        out.append(f"_toolkit_operands[{applet}]='{shell_words(operands)}'")
    with open(functions_file, encoding="utf-8") as functions:
        out.append(functions.read().rstrip("\n"))
    out.append("complete -F _toolkit toolkit " + shell_words(applets))
    with open(output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
