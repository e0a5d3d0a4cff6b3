#!/bin/sh
# Build the RPM from packaging/rpm/toolkit.spec with rpmbuild and check it.
#
#   tests/packaging/rpm-package.sh [OUTDIR]
#
# On a machine without the %meson macros (Debian), tests/packaging/rpm/macros.meson
# supplies them and build dependencies are not checked (--nodeps). The package's
# file list is checked by rpmbuild itself (a file installed but not listed, or
# listed but not installed, fails the build); then the payload is unpacked and
# every applet runs through its link. RPM_NOCHECK=1 skips %check.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/toolkit-rpm.XXXXXX")
outdir=${1:-$scratch/out}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
trap 'rm -rf "$scratch"' EXIT
fail() {
    echo "rpm-package: FAIL: $*" >&2
    exit 1
}
command -v rpmbuild >/dev/null || fail "rpmbuild is not installed (Debian: apt-get install rpm)"

spec=$source_dir/packaging/rpm/toolkit.spec
version=$(rpmspec -q --qf '%{version}\n' "$spec" 2>/dev/null | head -n 1)
[ -n "$version" ] || fail "cannot read the version from $spec"
top=$scratch/rpmbuild
mkdir -p "$top/SOURCES" "$scratch/toolkit-$version"
git -C "$source_dir" ls-files -z --cached --others --exclude-standard |
    (cd "$source_dir" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$source_dir" && tar --null -T - -cf -) | tar -C "$scratch/toolkit-$version" -xf -
tar -C "$scratch" -cJf "$top/SOURCES/toolkit-$version.tar.xz" "toolkit-$version"

set -- -bb --define "_topdir $top"
if ! rpm --eval '%{?meson:defined}' | grep -q defined; then
    set -- "$@" --nodeps --load "$here/rpm/macros.meson"
fi
[ "${RPM_NOCHECK-}" != 1 ] || set -- "$@" --nocheck
if ! rpmbuild "$@" "$spec" >"$outdir/rpmbuild.log" 2>&1; then
    tail -n 40 "$outdir/rpmbuild.log" >&2
    fail "rpmbuild failed (log: $outdir/rpmbuild.log)"
fi
package=$(ls "$top"/RPMS/*/toolkit-"$version"-*.rpm)
cp "$package" "$outdir/"

root=$scratch/root
mkdir "$root"
rpm2cpio "$package" | (cd "$root" && cpio -idm --quiet --no-absolute-filenames)
applets=$("$root/usr/bin/toolkit" --list) || fail "toolkit --list failed"
for applet in $applets; do
    [ "$(readlink "$root/usr/bin/$applet")" = toolkit ] || fail "$applet is not a symlink to toolkit"
    "$root/usr/bin/$applet" --help | head -n 1 | grep -q "^Usage: $applet " || fail "$applet --help"
done
echo "rpm-package: contents of $(basename "$package")"
rpm -qlp "$package" 2>/dev/null | sed 's/^/  /'
echo "rpm-package: PASS ($(basename "$package"))"
