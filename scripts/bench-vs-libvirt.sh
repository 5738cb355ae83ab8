#!/usr/bin/env bash
# bench-vs-libvirt.sh: domxml against libvirt 9.0 on the same inputs, in the same run.
#
#   scripts/bench-vs-libvirt.sh [--full] [--runs N] [--work DIR] [--baseline BIN]
#                               [--no-libvirt] [--no-build] [--no-docs] [--report-only]
#
# Builds domxml (release), generates inputs with scripts/mk-bench-inputs.py (cached in the
# work directory: by default /dev/shm/domxml-bench when /dev/shm is a tmpfs with 2 GB free,
# else /tmp/domxml-bench; sysfs lives in memory, and a fake tree on a disk filesystem makes
# both tools' lookups wait on its inode and dentry caches, which a busy machine evicts):
#   - domains of 1, 100, 1,000, 10,000 and 100,000 SCSI lun disks at explicit addresses;
#   - sysfs trees of 10, 100, 1,000 and 10,000 LUs (10 LUs a host; the largest is "the big
#     host": 1,000 SCSI hosts, 10,000 LUs);
#   - one and 10,000 SCSI hostdevs on the big host, named by PCI parent + unique_id (the
#     flat form) and by host name (the only form libvirt accepts in a hostdev);
# then times, alternating run by run, `domxml convert|validate|fmt|resolve` and
# `virsh -c qemu:///embed?root=… domxml-to-native qemu-argv` (libvirt's whole conversion,
# in-process QEMU driver, no daemon). libvirt reads the fake sysfs: the whole measurement
# runs in a private mount namespace with the big host's sys/{devices,bus,class} bound over
# /sys/{devices,bus,class}. Reports medians (wall and CPU), ratios and peak RSS (wait4), the
# growth ratios time(100k)/time(10k), and (unless --no-docs) writes docs/performance.md and
# docs/performance.svg.
#
# Default: 3 runs a case (21 for a case under 50 ms), about five minutes on two shared
# cores. --full: 7 runs a case.
# --baseline BIN adds another domxml binary (e.g. one built from an older commit) to the
# hostdev cases, as "before". Needs root (unshare, mount) for the libvirt cases; without
# root or virsh, --no-libvirt is implied. --report-only writes the report again from the
# work directory's results.json without measuring anything.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=3
work=
baseline=
libvirt=1
build=1
docs=1
report_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --full) runs=7 ;;
        --runs) runs=$2; shift ;;
        --work) work=$2; shift ;;
        --baseline) baseline=$(realpath "$2"); shift ;;
        --no-libvirt) libvirt=0 ;;
        --no-build) build=0 ;;
        --no-docs) docs=0 ;;
        --report-only) report_only=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$work" ]; then
    work=/tmp/domxml-bench
    if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] \
        && [ "$(df --output=avail -k /dev/shm | tail -1)" -gt 2000000 ]; then
        work=/dev/shm/domxml-bench
    fi
fi
tmpfs=0
[ "$(stat -f -c %T "$(dirname "$work")" 2>/dev/null)" = tmpfs ] && tmpfs=1
if [ "$report_only" = 1 ]; then
    exec python3 "$here/bench-vs-libvirt.py" --report-only --domxml - --work "$work" \
        --repo "$repo" --docs "$docs" --tmpfs "$tmpfs"
fi

if [ "$(id -u)" != 0 ] || ! command -v virsh >/dev/null || ! command -v unshare >/dev/null; then
    [ "$libvirt" = 1 ] && echo "bench: no root, virsh or unshare: libvirt cases skipped" >&2
    libvirt=0
fi

if [ "$build" = 1 ]; then
    (cd "$repo" && nice cargo build --release --quiet)
fi
domxml="$repo/target/release/domxml"

mkdir -p "$work"
gen="$here/mk-bench-inputs.py"
stamp="$work/.inputs-$(sha1sum "$gen" "$here/mk-synthetic-fixtures.py" | sha1sum | cut -c1-12)"
if [ ! -e "$stamp" ]; then
    echo "bench: generating inputs in $work (once; about a minute)" >&2
    rm -rf "$work/trees" "$work/domains"
    mkdir -p "$work/trees" "$work/domains"
    for lus in 10 100 1000 10000; do
        python3 "$gen" tree "$work/trees/lus-$lus" $((lus / 10)) 10
    done
    for n in 1 100 1000 10000 100000; do
        python3 "$gen" lun-disks "$n" > "$work/domains/lun-$n.xml"
        # For `resolve`: every disk names an LU of the tree the sweep pairs with it.
        t=$n; [ "$t" -lt 10 ] && t=10; [ "$t" -gt 10000 ] && t=10000
        python3 "$gen" lun-disks "$n" "$t" > "$work/domains/lun-wrap-$n.xml"
    done
    for n in 1 10000; do
        for form in parent name; do
            python3 "$gen" hostdevs "$n" 1000 10 "$form" > "$work/domains/hostdev-$n-$form.xml"
        done
    done
    rm -f "$work"/.inputs-*
    touch "$stamp"
fi

vroot="$work/libvirt-root"
if [ "$libvirt" = 1 ]; then
    mkdir -p "$vroot/etc"
    # Without user/group root every call waits ~48 s (see the test environment notes).
    printf 'user = "root"\ngroup = "root"\nstdio_handler = "file"\n' > "$vroot/etc/qemu.conf"
    # The embedded driver refuses to start without the users and groups Debian's
    # libvirt-daemon-system would create (the packages the README installs do not); the
    # libvirt cases run as root, so make them as scripts/test.sh does.
    getent group kvm >/dev/null || groupadd -r kvm
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null \
        || useradd -r -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu
    # The first call into a fresh root probes QEMU's capabilities (~4 s): not measured.
    virsh -c "qemu:///embed?root=$vroot" domxml-to-native qemu-argv "$work/domains/lun-1.xml" >/dev/null
fi

args=(--domxml "$domxml" --work "$work" --runs "$runs" --repo "$repo" --libvirt "$libvirt"
      --vroot "$vroot" --docs "$docs" --tmpfs "$tmpfs")
[ -n "$baseline" ] && args+=(--baseline "$baseline")
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "bench: $runs runs a case; load average before: $(load)" >&2
if [ "$libvirt" = 1 ]; then
    # libvirt reads /sys/bus/scsi/devices/H:B:T:L/scsi_generic/ for a SCSI hostdev: give it
    # the big host, in a namespace of its own (the host's /sys is untouched).
    big="$work/trees/lus-10000/sys"
    unshare -m --propagation private bash -c '
        set -e
        for d in devices bus class; do mount --bind "$1/$d" "/sys/$d"; done
        shift
        exec python3 "$@"' _ "$big" "$here/bench-vs-libvirt.py" "${args[@]}" --load-before "$(load)"
else
    python3 "$here/bench-vs-libvirt.py" "${args[@]}" --load-before "$(load)"
fi
