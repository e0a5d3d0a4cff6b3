#!/bin/sh
# meson install script: hard-link every applet name to toolkit in BINDIR.
# Usage: install-hardlinks.sh BINDIR APPLET...   (BINDIR absolute, without DESTDIR)
set -eu
bindir=$1
shift
if [ -n "${MESON_INSTALL_DRY_RUN-}" ]; then
    exit 0
fi
# meson gives DESTDIR+prefix and prefix; what is left is DESTDIR, made absolute by meson.
prefix=${MESON_INSTALL_PREFIX-}
destdir_prefix=${MESON_INSTALL_DESTDIR_PREFIX-$prefix}
destdir=${destdir_prefix%"$prefix"}
dir=$destdir$bindir
if [ ! -f "$dir/toolkit" ]; then
    echo "install-hardlinks.sh: $dir/toolkit is not installed" >&2
    exit 1
fi
for applet in "$@"; do
    case $applet in
    '' | */* | .*) echo "install-hardlinks.sh: bad applet name '$applet'" >&2; exit 1 ;;
    esac
    ln -f "$dir/toolkit" "$dir/$applet"
    [ -n "${MESON_INSTALL_QUIET-}" ] || echo "Hard-linking $dir/$applet to toolkit"
done
