#!/bin/sh
# The RPM %files entries of every applet in the registry (commands/list on stdin):
# its link, its manual page and its completion link, so the spec's list cannot
# fall behind the registry.
#   applet-files.sh BINDIR MANDIR DATADIR < commands/list
set -eu
[ $# -eq 3 ] || { echo "usage: applet-files.sh BINDIR MANDIR DATADIR < commands/list" >&2; exit 100; }
while read -r name; do
    case $name in '' | '#'*) continue ;; esac
    printf '%s/%s\n%s/man1/%s.1*\n%s/bash-completion/completions/%s\n' \
        "$1" "$name" "$2" "$name" "$3" "$name"
done
