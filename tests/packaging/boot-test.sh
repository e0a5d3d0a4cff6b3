#!/bin/sh
# Boot a real kernel under qemu with an initramfs whose /init first runs a
# toolkit service on a local socket and talks to it from inside the image, then
# serves SSH (dropbear under tcp-socket-listen --free-bind :: 22 and
# tcp-socket-accept) on the guest's port 22, which qemu's user-mode network
# forwards from a free port on the host's 127.0.0.1. The host logs in with a
# key made for the run, checks the remote command's output and gives the
# guest the passphrase it waits for; the guest then powers off.
#
#   tests/packaging/boot-test.sh [STATIC_BUILD_DIR]      (default: ./build-static)
#
# The image is laid out by the initramfs-tools hook (packaging/initramfs-tools),
# plus busybox-static, a small static client compiled from boot/client.c,
# dropbear with its libraries, the kernel's e1000 module, and keys made at
# build time in the scratch directory (host key, client key: never kept).
# Environment: BOOT_KERNEL (default: newest /boot/vmlinuz-*), BOOT_MODULES
# (default /lib/modules/VERSION of the kernel), BOOT_ACCEL (tcg, the default,
# or kvm), BOOT_TIMEOUT (seconds, default 300), BUSYBOX (default /bin/busybox).
# Needs qemu-system-x86, linux-image-amd64, busybox-static, cpio, a C compiler
# with static glibc, dropbear-bin, openssh-client, python3.
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
modules=${BOOT_MODULES:-/lib/modules/$(basename "$kernel" | sed 's/^vmlinuz-//')}
release=$(basename "$modules") # what uname -r says in the guest
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (qemu-system-x86)"
[ -x "$build/toolkit" ] || fail "no $build/toolkit (meson setup $build -Dstatic=true && ninja -C $build)"
is_static "$build/toolkit" || fail "$build/toolkit is not static (configure it with -Dstatic=true)"
[ -x "$busybox" ] && is_static "$busybox" || fail "$busybox is not a static busybox (busybox-static)"
dropbear=$(command -v dropbear || echo /usr/sbin/dropbear)
[ -x "$dropbear" ] && command -v dropbearkey >/dev/null || fail "dropbear is not installed (dropbear-bin)"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || fail "ssh is not installed (openssh-client)"
command -v python3 >/dev/null || fail "python3 is not installed"
# The guest's NIC: qemu's e1000, whose driver Debian builds as a module without dependencies.
e1000=$(find "$modules/kernel/drivers/net/ethernet/intel/e1000" -name 'e1000.ko*' 2>/dev/null | head -n 1)
[ -n "$e1000" ] || grep -qx 'CONFIG_E1000=y' "/boot/config-$release" 2>/dev/null ||
    fail "no e1000 module under $modules and no built-in driver (set BOOT_MODULES)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/toolkit-boot.XXXXXX")
qemu=
cleanup() {
    [ -z "$qemu" ] || kill "$qemu" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
tree=$scratch/tree
mkdir -p "$tree/bin" "$tree/usr/bin" "$tree/etc/dropbear" "$tree/lib/modules"

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
printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/:/bin/sh\n' >"$tree/etc/passwd"
printf 'root:x:0:\ndaemon:x:1:\n' >"$tree/etc/group"
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$tree/etc/nsswitch.conf"
printf '/bin/sh\n' >"$tree/etc/shells"
install -m 0755 "$here/boot/init" "$tree/init"

# dropbear is dynamic: the binary, every library ldd names, and the loader, at
# the paths the binary asks for.
mkdir -p "$tree/usr/sbin"
cp -L "$dropbear" "$tree/usr/sbin/dropbear"
ldd "$dropbear" | grep -o '/[^ ]*' >"$scratch/libraries" || fail "ldd $dropbear found no libraries"
while read -r library; do
    mkdir -p "$tree${library%/*}"
    cp -L "$library" "$tree$library" || fail "cannot copy $library"
done <"$scratch/libraries"
case $e1000 in
'') ;;
*.ko) cp "$e1000" "$tree/lib/modules/e1000.ko" ;;
*.ko.xz) xz -dc "$e1000" >"$tree/lib/modules/e1000.ko" ;;
*.ko.zst) zstd -qdc "$e1000" >"$tree/lib/modules/e1000.ko" ;;
*.ko.gz) gzip -dc "$e1000" >"$tree/lib/modules/e1000.ko" ;;
*) fail "cannot read the module $e1000" ;;
esac || fail "cannot unpack $e1000"

# Keys for this run only: the guest's host key, and the key the host logs in with.
dropbearkey -t ed25519 -f "$tree/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1 ||
    fail "dropbearkey failed"
host_key=$(dropbearkey -y -f "$tree/etc/dropbear/dropbear_ed25519_host_key" | grep '^ssh-ed25519 ' | cut -d' ' -f1,2)
[ -n "$host_key" ] || fail "no public part of the host key"
ssh-keygen -q -t ed25519 -N '' -C boot-test -f "$scratch/client_key" || fail "ssh-keygen failed"
install -d -m 0700 "$tree/root" "$tree/root/.ssh"
install -m 0600 "$scratch/client_key.pub" "$tree/root/.ssh/authorized_keys"
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

# The bzImage's own decompressor takes ten seconds and more under TCG; the
# host unpacks the same kernel in about one, and qemu boots the ELF image
# through its PVH entry point. A kernel that is not xz inside, or has no PVH
# entry, is booted as it is.
unpack_kernel() { # BZIMAGE ELF: the vmlinux inside an xz-compressed bzImage, if it has a PVH entry
    python3 - "$1" "$2" <<'UNPACK'
import lzma, struct, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
if start < 0:
    sys.exit(1)
image = lzma.LZMADecompressor().decompress(data[start:])
# An ELF note "Xen" of type 18, XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point.
if image[:4] != b"\x7fELF" or not any(struct.pack("<III", 4, size, 18) + b"Xen\0" in image for size in (4, 8)):
    sys.exit(1)
with open(sys.argv[2], "wb") as out:
    out.write(image)
UNPACK
}
boot_image=$kernel
if unpack_kernel "$kernel" "$scratch/vmlinux" 2>/dev/null; then boot_image=$scratch/vmlinux; fi
[ "$boot_image" = "$kernel" ] && entry=bzImage || entry="PVH (ELF unpacked on the host)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
console_has() { tr -d '\r' <"$scratch/console.log" | grep -q "$@"; }
alive() { kill -0 "$qemu" 2>/dev/null; }

echo "boot-test: $(basename "$kernel"), $entry, accel $accel, initramfs $(wc -c <"$scratch/initrd.img") bytes"
start=$(date +%s%N)
deadline=$(($(date +%s) + timeout_seconds))
# The port is free when chosen, but another program may take it before qemu
# binds it: then qemu stops at once, and the next try takes another port.
for _ in 1 2 3; do
    port=$(free_port) || fail "cannot find a free port on 127.0.0.1"
    : >"$scratch/console.log" # there before the loop below reads it, whenever qemu starts
    # restrict=on: the guest reaches nothing outside; the forwarded port still reaches it.
    timeout --kill-after=10 "$timeout_seconds" qemu-system-x86_64 \
        -accel "$accel" -cpu "$cpu" -m 256 -smp 1 -nodefaults -no-reboot -display none \
        -serial stdio -kernel "$boot_image" -initrd "$scratch/initrd.img" \
        -append "console=ttyS0 panic=-1 quiet loglevel=3" \
        -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-10.0.2.15:22" \
        -device e1000,netdev=net,romfile= \
        </dev/null >"$scratch/console.log" 2>&1 &
    qemu=$!
    while alive && ! console_has -x 'boot-test: waiting for the passphrase' && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 0.2
    done
    alive || ! console_has 'Could not set up host forwarding rule' || continue
    break
done

# Log in: the server's key must be the one made above; a few tries, in case
# the first connection races the guest's network.
printf '[127.0.0.1]:%s %s\n' "$port" "$host_key" >"$scratch/known_hosts"
remote='echo "unlocked-$(uname -r) at $TCPLOCALIP:$TCPLOCALPORT from $TCPREMOTEIP" && echo open-sesame >/run/unlock'
output=
ssh_status=255
: >"$scratch/ssh.err"
attempt=0
while alive && [ "$attempt" -lt 5 ] && [ "$(date +%s)" -lt "$deadline" ]; do
    attempt=$((attempt + 1))
    ssh_status=0
    output=$(timeout 60 ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityFile="$scratch/client_key" \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$scratch/known_hosts" -o ConnectTimeout=20 \
        -p "$port" root@127.0.0.1 "$remote" 2>"$scratch/ssh.err") || ssh_status=$?
    [ "$ssh_status" -ne 0 ] || break
    sleep 1
done
ssh_end=$(date +%s%N)

# The guest powers off once it has the passphrase; otherwise the timeout stops it.
[ "$ssh_status" -eq 0 ] || kill "$qemu" 2>/dev/null || true
status=0
wait "$qemu" || status=$?
qemu=
end=$(date +%s%N)
elapsed_ms=$(((end - start) / 1000000))
tr -d '\r' <"$scratch/console.log" | sed 's/^/  | /'
sed 's/^/  ssh| /' "$scratch/ssh.err"

[ "$attempt" -gt 0 ] || fail "the guest never said it was waiting for the passphrase"
[ "$ssh_status" -eq 0 ] || fail "ssh failed with status $ssh_status after $attempt attempts"
[ "$output" = "unlocked-$release at 10.0.2.15:22 from 10.0.2.2" ] ||
    fail "the remote command's output is [$output], not [unlocked-$release at 10.0.2.15:22 from 10.0.2.2]"
echo "boot-test: ssh: $output (attempt $attempt, $(((ssh_end - start) / 1000000)) ms after qemu started)"
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "qemu did not finish within ${timeout_seconds}s"
[ "$status" -eq 0 ] || fail "qemu exited with status $status"
console=$(tr -d '\r' <"$scratch/console.log")
printf '%s\n' "$console" | grep -qx 'boot-test: reply: greeting for \[boot\] from uid 1 to uid 0' ||
    fail "the handler's reply is not on the console"
printf '%s\n' "$console" | grep -Eq '^boot-test: socket: srw-rw---- +1 0 +1 .*/run/greet.sock$' ||
    fail "the socket node does not have mode 0660, owner 0, group 1"
printf '%s\n' "$console" |
    grep -qx 'boot-test: without --free-bind: status 111: tcp-socket-listen: FATAL: 10.0.2.15 port 22: Cannot assign requested address' ||
    fail "a bind to 10.0.2.15 without --free-bind did not fail with status 111 before the network was up"
printf '%s\n' "$console" | grep -qx 'boot-test: with --free-bind: status 0' ||
    fail "a bind to 10.0.2.15 with --free-bind failed before the network was up"
printf '%s\n' "$console" | grep -qx 'boot-test: listening on \[::\]:22 before the network: lo ' ||
    fail "tcp-socket-listen --free-bind :: 22 was not listening before the guest had an eth0"
printf '%s\n' "$console" | grep -qx 'boot-test: passphrase: \[open-sesame\]' ||
    fail "the guest did not get the passphrase"
printf '%s\n' "$console" | grep -qx 'boot-test: done' || fail "/init did not finish"
echo "boot-test: PASS in ${elapsed_ms} ms (accel $accel)"
