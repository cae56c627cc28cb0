# shellcheck shell=bash
# rxe-vm-lib.sh: shared by run-in-rxe-vm and vm-cluster (sourced by bash).
# Kernel download + cache, initramfs builder, accelerator choice, QEMU option escaping.
# The caller defines HERE (this directory), msg() and die() before sourcing it.

CACHE=${RXE_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/rxe-vm}

# Guest kernel modules (dependencies are resolved from modules.dep).
# run-in-rxe-vm guests (guest-init loads /modules.list):
# (virtio_blk ... loop: storage tests on a loop device + device-mapper + ext4 in one guest)
MODULES="virtio_pci virtio_console 9pnet_virtio 9p overlay dummy veth crc32_generic
         virtio_blk crc32c_generic ext4 dm_mod loop
         rdma_rxe rdma_ucm ib_uverbs ib_umad"
# vm-cluster guests (vm-cluster-init): virtio-net ports under a bridge, shared virtio-blk, ext4,
# device-mapper (dm-linear and the error target are in dm_mod) and loop devices
CLUSTER_MODULES="virtio_pci virtio_console 9pnet_virtio 9p overlay crc32_generic
         virtio_net bridge virtio_blk crc32c_generic ext4 dm_mod loop
         rdma_rxe rdma_ucm ib_uverbs ib_umad"

# build_initramfs KROOT KVER OUT INIT MODULES...: busybox + INIT as /init + the modules
# (in load order, listed in /modules.list)
build_initramfs() {
    local kroot=$1 kver=$2 out=$3 init=$4; shift 4
    local md=$kroot/lib/modules/$kver t p b
    [ -f "$md/modules.dep" ] || busybox depmod -b "$kroot" "$kver"
    declare -gA _seen=(); _order=()
    _resolve() {
        local m=$1 path deps d dn
        path=$(awk -F: -v m="$m" '{n=$1; sub(/.*\//,"",n); sub(/\.ko(\..*)?$/,"",n); gsub(/-/,"_",n); if(n==m){print $1; exit}}' "$md/modules.dep")
        [ -n "$path" ] || die "kernel module $m not found in $kver"
        [ -n "${_seen[$path]:-}" ] && return 0
        _seen[$path]=1
        deps=$(awk -F: -v p="$path" '$1==p{print $2}' "$md/modules.dep")
        for d in $(printf '%s\n' $deps | tac); do  # modules.dep lists deps last-loaded-first
            dn=${d##*/}; dn=${dn%%.ko*}; _resolve "${dn//-/_}"
        done
        _order+=("$path")
    }
    for m in "$@"; do _resolve "$m"; done
    t=$(mktemp -d)
    mkdir -p "$t/bin" "$t/lib/modules"
    cp "$(command -v busybox)" "$t/bin/busybox"
    cp "$init" "$t/init"; chmod 755 "$t/init"
    : > "$t/modules.list"
    for p in "${_order[@]}"; do
        b=${p##*/}
        case "$b" in *.ko.xz) xz -dc "$md/$p" > "$t/lib/modules/${b%.xz}"; b=${b%.xz} ;;
                     *.ko.zst) zstd -qdc "$md/$p" > "$t/lib/modules/${b%.zst}"; b=${b%.zst} ;;
                     *) cp "$md/$p" "$t/lib/modules/$b" ;; esac
        echo "$b" >> "$t/modules.list"
    done
    (cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
    rm -rf "$t"
}

# Uncompressed ELF vmlinux: QEMU boots it through the PVH entry point, which
# skips the real-mode setup and the (slow under TCG) xz decompression: ~3 s saved.
extract_vmlinux() { # bzImage out
    local magic off
    for magic in 'fd377a585a00:xz -dc --single-stream' '28b52ffd:zstd -qdc' '1f8b0800:gzip -dc'; do
        off=$(od -An -v -tx1 "$1" | tr -d ' \n' | grep -ob "${magic%%:*}" | awk -F: '$1 % 2 == 0 {print $1; exit}') || true
        [ -n "$off" ] || continue
        tail -c +$((off / 2 + 1)) "$1" | ${magic#*:} > "$2" 2>/dev/null
        [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
    done
    return 1
}

# _kroot_fetch PKG: download + unpack the kernel package into KROOT (a temp dir)
KROOT=; _KROOT_TMP=
_kroot_fetch() {
    [ -n "$KROOT" ] && return 0
    msg "downloading $1"
    mkdir -p "$CACHE"; _KROOT_TMP=$(mktemp -d "$CACHE/dl.XXXXXX")
    (cd "$_KROOT_TMP" && apt-get download -q "$1" >/dev/null 2>&1) || { rm -rf "$_KROOT_TMP"; die "apt-get download $1 failed"; }
    dpkg -x "$_KROOT_TMP"/*.deb "$_KROOT_TMP/root"
    rm -f "$_KROOT_TMP"/*.deb
    KROOT=$_KROOT_TMP/root
}
_kroot_cleanup() { [ -n "$_KROOT_TMP" ] && rm -rf "$_KROOT_TMP"; KROOT=; _KROOT_TMP=; }

# ensure_initrd NAME INIT MODULES...: sets INITRD to an initramfs with INIT and MODULES,
# $KDIR/NAME-KEY.gz (NAME without .gz; KEY: hash of INIT, the module list and the builder).
# One file per content: copies of these tools with another init script or module list
# (another checkout, /work/shared/rxe-vm) share the cache without rebuilding each other's
# initramfs (each rebuild downloads the kernel package again). Old ones are ~3 MB each and
# can be deleted at any time.
INITRD=
ensure_initrd() {
    local name=$1 init=$2; shift 2
    local key
    key=$( { echo "$*"; cat "$init"; declare -f build_initramfs; } | sha256sum | cut -c1-32)
    INITRD=$KDIR/${name%.gz}-$key.gz
    [ -f "$INITRD" ] && return 0
    msg "building ${INITRD##*/} (${init##*/} or the module list changed)"
    _kroot_fetch "${KDIR##*/}"
    build_initramfs "$KROOT" "$(cat "$KDIR/kver")" "$INITRD" "$init" "$@"
}

# prepare_kernel INITRD-NAME INIT MODULES...: sets KDIR (vmlinuz, vmlinux, kver) and
# INITRD (see ensure_initrd), building the initramfs when it does not exist yet.
# Serialised with a lock: several tools share the cache.
prepare_kernel() {
    local pkg=${RXE_VM_KERNEL_PKG:-} lockfd
    mkdir -p "$CACHE"
    exec {lockfd}>"$CACHE/.lock"
    flock -w 600 "$lockfd" || die "cannot lock $CACHE/.lock"
    if [ -z "$pkg" ] && [ -e "$CACHE/current/vmlinuz" ]; then
        KDIR=$(readlink -f "$CACHE/current")
    else
        if [ -z "$pkg" ]; then
            pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
            [ -n "$pkg" ] || die "cannot find the Debian kernel package (apt-get update?)"
        fi
        KDIR=$CACHE/$pkg
        if [ ! -e "$KDIR/vmlinuz" ]; then
            _kroot_fetch "$pkg"
            local kver; kver=$(ls "$KROOT/lib/modules" | head -1)
            rm -rf "$KDIR.new"; mkdir -p "$KDIR.new"
            cp "$KROOT/boot/vmlinuz-$kver" "$KDIR.new/vmlinuz"
            extract_vmlinux "$KDIR.new/vmlinuz" "$KDIR.new/vmlinux" || rm -f "$KDIR.new/vmlinux"
            echo "$kver" > "$KDIR.new/kver"
            rm -rf "$KDIR"; mv "$KDIR.new" "$KDIR"
        fi
        [ -n "${RXE_VM_KERNEL_PKG:-}" ] || ln -sfn "$pkg" "$CACHE/current"
    fi
    [ -f "$KDIR/vmlinux" ] || extract_vmlinux "$KDIR/vmlinuz" "$KDIR/vmlinux" || rm -f "$KDIR/vmlinux"
    ensure_initrd "$@"
    _kroot_cleanup
    exec {lockfd}>&-
}

# kernel_args: QEMU options that boot $KDIR's kernel (fast path: PVH vmlinux + qboot)
kernel_args() {
    if [ -f "$KDIR/vmlinux" ]; then KERNEL_ARGS=(-kernel "$KDIR/vmlinux"); else KERNEL_ARGS=(-kernel "$KDIR/vmlinuz"); fi
    [ -f /usr/share/qemu/qboot.rom ] && KERNEL_ARGS+=(-bios /usr/share/qemu/qboot.rom)
}

# pick_accel auto|tcg|kvm: sets ACCEL and ACCEL_ARGS
pick_accel() {
    ACCEL=$1
    if [ "$ACCEL" = auto ]; then
        # PVM hosts (KVM without vmx/svm) expose /dev/kvm but cannot run a stock kernel
        if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw -E 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
    fi
    case "$ACCEL" in
        kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
        tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
        *) die "unknown accel $ACCEL" ;;
    esac
}

qesc() { printf '%s' "${1//,/,,}"; }   # qemu option value escaping
