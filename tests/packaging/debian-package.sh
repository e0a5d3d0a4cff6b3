#!/bin/sh
# Build the Debian package from packaging/debian and check what it installs.
#
#   tests/packaging/debian-package.sh [OUTDIR]
#
# Copies the tracked (and untracked, not ignored) files of the source tree to a
# scratch directory, puts packaging/debian at ./debian, runs
# `dpkg-buildpackage -us -uc -b`, `lintian` (errors fail), unpacks the .deb with
# `dpkg -x` and runs every applet through its installed link and every manual
# page through `man -l`. The .deb and the logs are left in OUTDIR (default: a
# scratch directory, removed on success). DEB_BUILD_OPTIONS is passed through
# (nocheck skips the test suite inside the build).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/toolkit-deb.XXXXXX")
outdir=${1:-$scratch/out}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
keep=
cleanup() { [ -n "$keep" ] || rm -rf "$scratch"; }
trap cleanup EXIT
fail() {
    echo "debian-package: FAIL: $*" >&2
    keep=1
    echo "debian-package: scratch kept in $scratch" >&2
    exit 1
}

version=$(sed -n '1s/^toolkit (\([^)]*\)).*/\1/p' "$source_dir/packaging/debian/changelog")
[ -n "$version" ] || fail "no version in packaging/debian/changelog"
tree=$scratch/toolkit-$version
mkdir "$tree"
git -C "$source_dir" ls-files -z --cached --others --exclude-standard |
    (cd "$source_dir" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$source_dir" && tar --null -T - -cf -) | tar -C "$tree" -xf -
[ ! -e "$tree/debian" ] || fail "the source tree already has ./debian"
cp -R "$source_dir/packaging/debian" "$tree/debian"

echo "debian-package: building in $tree"
(cd "$tree" && dpkg-checkbuilddeps) || fail "build dependencies missing (see above)"
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$outdir/build.log" 2>&1; then
    tail -n 40 "$outdir/build.log" >&2
    fail "dpkg-buildpackage failed (log: $outdir/build.log)"
fi
deb=$(ls "$scratch"/toolkit_"$version"_*.deb)
changes=$(ls "$scratch"/toolkit_"$version"_*.changes)
cp "$deb" "$changes" "$scratch"/*.buildinfo "$outdir"/

lintian --fail-on error --display-info "$changes" >"$outdir/lintian.log" 2>&1 || {
    cat "$outdir/lintian.log" >&2
    fail "lintian reports errors"
}
echo "debian-package: lintian (no errors; other tags below)"
sed 's/^/  /' "$outdir/lintian.log"

root=$scratch/root
dpkg -x "$deb" "$root"
toolkit=$root/usr/bin/toolkit
[ -x "$toolkit" ] || fail "no /usr/bin/toolkit in the package"
applets=$("$toolkit" --list) || fail "toolkit --list failed"
[ -n "$applets" ] || fail "toolkit --list printed nothing"
left_out=" $(grep -v '^#' "$tree/debian/left-out" | tr '\n' ' ') "
for applet in $applets; do
    link=$root/usr/bin/$applet
    case $left_out in *" $applet "*)
        [ ! -e "$link" ] && [ ! -e "$root/usr/share/man/man1/$applet.1.gz" ] || fail "$applet is not left out"
        continue ;;
    esac
    [ -L "$link" ] && [ "$(readlink "$link")" = toolkit ] || fail "$applet is not a symlink to toolkit"
    usage=$("$link" --help | head -n 1) || fail "$applet --help failed"
    case $usage in "Usage: $applet "*) ;; *) fail "$applet --help says: $usage" ;; esac
    [ -L "$root/usr/share/bash-completion/completions/$applet" ] || fail "no completion link for $applet"
done
# The links do real work, not just --help.
out=$("$root/usr/bin/fdmove" -c 7 1 sh -c 'echo through-fd-7 >&7') || fail "fdmove failed"
[ "$out" = through-fd-7 ] || fail "fdmove: got '$out'"
if [ "$(id -u)" = 0 ]; then
    out=$("$root/usr/bin/setuidgid" nobody id -u) || fail "setuidgid failed"
    [ "$out" = "$(id -u nobody)" ] || fail "setuidgid nobody id -u: got '$out'"
fi
[ -f "$root/usr/share/bash-completion/completions/toolkit" ] || fail "no bash completion"
bash -n "$root/usr/share/bash-completion/completions/toolkit" || fail "bash completion does not parse"

for page in toolkit $applets; do
    case $left_out in *" $page "*) continue ;; esac
    file=$root/usr/share/man/man1/$page.1.gz
    [ -f "$file" ] || fail "no manual page $page.1.gz"
    rendered=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$file" 2>"$scratch/man.err") || fail "man -l $page.1.gz failed"
    [ ! -s "$scratch/man.err" ] || { cat "$scratch/man.err" >&2; fail "man -l $page.1.gz complained"; }
    printf '%s\n' "$rendered" | grep -q "^NAME" || fail "$page.1.gz renders without a NAME section"
    printf '%s\n' "$rendered" | grep -q "$page" || fail "$page.1.gz does not name $page"
done
for recipe in usr/share/toolkit/initramfs-tools/hooks/toolkit usr/share/toolkit/dracut/90toolkit/module-setup.sh; do
    [ -x "$root/$recipe" ] || fail "no $recipe in the package"
done

echo "debian-package: contents of $(basename "$deb")"
dpkg -c "$deb" | awk '{ print "  " $1 " " $6 " " $7 " " $8 }'
echo "debian-package: PASS ($(basename "$deb"), $(echo "$applets" | wc -w) applets)"
