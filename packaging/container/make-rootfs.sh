#!/bin/sh
# Lay out the container's file tree: what Containerfile copies into FROM scratch.
#
#   make-rootfs.sh ROOTFS BUILD_DIR [BUSYBOX]
#
# BUILD_DIR is a static build (meson setup -Dstatic=true); its runtime files
# (toolkit and the applet links) are installed into ROOTFS with meson, next to
# a minimal /etc/passwd and /etc/group. BUSYBOX, when given, is copied to
# /bin/busybox: the example service's handler uses it.
set -eu
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: make-rootfs.sh ROOTFS BUILD_DIR [BUSYBOX]" >&2; exit 100; }
rootfs=$1
build=$2
busybox=${3-}
here=$(cd "$(dirname "$0")" && pwd)

if [ -e "$rootfs" ] && [ -n "$(ls -A "$rootfs")" ]; then
    echo "make-rootfs.sh: $rootfs exists and is not empty" >&2
    exit 1
fi
mkdir -p "$rootfs"
rootfs=$(cd "$rootfs" && pwd)
meson install -C "$build" --quiet --tags runtime --destdir "$rootfs"
toolkit=$rootfs/usr/bin/toolkit
[ -x "$toolkit" ] || { echo "make-rootfs.sh: meson installed no usr/bin/toolkit (is prefix /usr?)" >&2; exit 1; }
if LC_ALL=C readelf -l "$toolkit" | grep -q 'Requesting program interpreter'; then
    echo "make-rootfs.sh: $build/toolkit is dynamically linked; configure the build with -Dstatic=true" >&2
    exit 1
fi
mkdir -p "$rootfs/etc" "$rootfs/run/toolkit" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0644 "$here/passwd" "$rootfs/etc/passwd"
install -m 0644 "$here/group" "$rootfs/etc/group"
if [ -n "$busybox" ]; then
    mkdir -p "$rootfs/bin"
    install -m 0755 "$busybox" "$rootfs/bin/busybox"
fi
