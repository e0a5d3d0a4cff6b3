#!/bin/sh
# Boot a real kernel under qemu with an initramfs whose /init runs a toolkit
# service on a local socket, connects to it once from inside the image, prints
# the reply on the console and powers off.
#
#   tests/packaging/boot-test.sh [STATIC_BUILD_DIR]      (default: ./build-static)
#
# The image is laid out by the initramfs-tools hook (packaging/initramfs-tools),
# plus busybox-static and a small static client compiled from boot/client.c.
# Environment: BOOT_KERNEL (default: newest /boot/vmlinuz-*), BOOT_ACCEL (tcg,
# the default, or kvm), BOOT_TIMEOUT (seconds, default 300),
# BUSYBOX (default /bin/busybox). Needs qemu-system-x86, linux-image-amd64,
# busybox-static, cpio, a C compiler with static glibc.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=${1:-$source_dir/build-static}
busybox=${BUSYBOX:-/bin/busybox}
timeout_seconds=${BOOT_TIMEOUT:-300}

fail() {
    echo "boot-test: FAIL: $*" >&2
    exit 1
}
is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

kernel=${BOOT_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}
[ -n "$kernel" ] && [ -r "$kernel" ] || fail "no readable kernel (install linux-image-amd64 or set BOOT_KERNEL)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (qemu-system-x86)"
[ -x "$build/toolkit" ] || fail "no $build/toolkit (meson setup $build -Dstatic=true && ninja -C $build)"
is_static "$build/toolkit" || fail "$build/toolkit is not static (configure it with -Dstatic=true)"
[ -x "$busybox" ] && is_static "$busybox" || fail "$busybox is not a static busybox (busybox-static)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/toolkit-boot.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tree=$scratch/tree
mkdir -p "$tree/bin" "$tree/usr/bin" "$tree/etc"

# toolkit and its links, exactly as the initramfs-tools hook puts them (copy_exec
# reduced to a copy: the binary is static).
cat >"$scratch/hook-functions" <<'STUB'
copy_exec() { mkdir -p "$DESTDIR/${2%/*}" && cp -p "$1" "$DESTDIR/$2"; }
STUB
DESTDIR=$tree TOOLKIT_BINARY=$build/toolkit TOOLKIT_HOOK_FUNCTIONS=$scratch/hook-functions \
    sh "$source_dir/packaging/initramfs-tools/hooks/toolkit" || fail "the initramfs-tools hook failed"
cp "$busybox" "$tree/bin/busybox"
${CC:-cc} -static -O2 -Wall -Wextra -o "$tree/usr/bin/client" "$here/boot/client.c" ||
    fail "cannot build the static client (is libc6-dev installed?)"
printf 'root:x:0:0:root:/:/bin/sh\ndaemon:x:1:1:daemon:/:/bin/sh\n' >"$tree/etc/passwd"
printf 'root:x:0:\ndaemon:x:1:\n' >"$tree/etc/group"
install -m 0755 "$here/boot/init" "$tree/init"
(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$scratch/initrd.img"

# TCG by default: it boots this image in seconds and behaves the same everywhere;
# KVM on request (under nested virtualisation it can hang before the kernel starts).
accel=${BOOT_ACCEL:-tcg}
[ "$accel" != kvm ] || [ -w /dev/kvm ] || fail "BOOT_ACCEL=kvm but /dev/kvm is not usable"
case $accel in
kvm) cpu=qemu64 ;; # not "host": nested KVM may refuse some of its MSRs
tcg) cpu=max ;;
*) fail "BOOT_ACCEL must be kvm or tcg" ;;
esac

echo "boot-test: $(basename "$kernel"), accel $accel, initramfs $(wc -c <"$scratch/initrd.img") bytes"
start=$(date +%s%N)
status=0
timeout --kill-after=10 "$timeout_seconds" qemu-system-x86_64 \
    -accel "$accel" -cpu "$cpu" -m 256 -smp 1 -nodefaults -no-reboot -display none \
    -serial stdio -kernel "$kernel" -initrd "$scratch/initrd.img" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" \
    </dev/null >"$scratch/console.log" 2>&1 || status=$?
end=$(date +%s%N)
elapsed_ms=$(((end - start) / 1000000))
tr -d '\r' <"$scratch/console.log" | sed 's/^/  | /'

[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "qemu did not finish within ${timeout_seconds}s"
[ "$status" -eq 0 ] || fail "qemu exited with status $status"
console=$(tr -d '\r' <"$scratch/console.log")
printf '%s\n' "$console" | grep -qx 'boot-test: reply: greeting for \[boot\] from uid 1 to uid 0' ||
    fail "the handler's reply is not on the console"
printf '%s\n' "$console" | grep -Eq '^boot-test: socket: srw-rw---- +1 0 +1 .*/run/greet.sock$' ||
    fail "the socket node does not have mode 0660, owner 0, group 1"
printf '%s\n' "$console" | grep -qx 'boot-test: done' || fail "/init did not finish"
echo "boot-test: PASS in ${elapsed_ms} ms (accel $accel)"
