#!/bin/sh
# kernel-boot-test.sh OUT
#
# Boot a real Debian kernel under QEMU (TCG) with a SCSI topology chosen here, let the guest
# dump its sysfs and print its own view of the truth, and turn both into a fixture tree:
#   OUT/sysfs/            a tree `domxml resolve --sysfs-root OUT/sysfs` reads
#   OUT/sysfs/truth.txt   the guest's report (same format as fixtures/sysfs/*/truth.txt)
#   OUT/console.txt       the kernel console, OUT/guest.txt the guest's own output
# Nothing is installed: the kernel and busybox come from `apt-get download` + `dpkg-deb -x`.
#
# Exit status: 0 done; 77 skipped (no qemu-system-x86_64, no apt-get, or the packages cannot
# be downloaded), with the reason on stderr; anything else is a failure.
#
# Topology (pc machine, Debian cloud kernel; chosen to exercise what resolution must get right):
#   00:01.1  PIIX IDE (ata_piix)        ide-hd on ide.1 unit 0         libata host per port
#   00:05.0  virtio-scsi scsi0          scsi-hd 0:0:0, scsi-hd 0:3:5, scsi-cd 0:1:0
#   00:06.0  virtio-scsi scsi1          scsi-hd 0:2:7 with a wwn
#   00:07.0  pci-bridge br1
#   01:03.0  virtio-scsi scsi2 (on br1) scsi-hd 0:9:300             bridge above the function
#   -        scsi_debug                 2 targets x 2 luns
set -eu
OUT=${1:?usage: kernel-boot-test.sh OUT}
skip() { echo "kernel-boot-test: skipped: $*" >&2; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v apt-get >/dev/null || skip "apt-get is not available"
command -v dpkg-deb >/dev/null || skip "dpkg-deb is not available"
command -v python3 >/dev/null || skip "python3 is not available"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W="$OUT/work"
rm -rf "$W"
mkdir -p "$W"
cd "$W"

KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
[ -n "$KPKG" ] || KPKG=linux-image-cloud-amd64
apt-get download "$KPKG" busybox-static >"$W/apt.log" 2>&1 || skip "apt-get download $KPKG busybox-static failed (see $W/apt.log)"
for d in *.deb; do dpkg-deb -x "$d" root; done
KVER=$(ls root/lib/modules | head -n 1)
KERNEL="root/boot/vmlinuz-$KVER"
[ -f "$KERNEL" ] || { echo "kernel-boot-test: no kernel in $KPKG" >&2; exit 1; }

# initramfs: busybox, the modules in load order (dependencies first), /init.
mkdir -p initrd/bin initrd/mod initrd/proc initrd/sys initrd/dev
cp root/bin/busybox initrd/bin/busybox
python3 - "root/lib/modules/$KVER" initrd/mod scsi_mod sd_mod sr_mod sg ata_piix virtio_pci virtio_scsi scsi_debug <<'EOF'
import os, re, shutil, sys
moddir, dest, want = sys.argv[1], sys.argv[2], sys.argv[3:]
files = {}
for root, _, fs in os.walk(moddir):
    for f in fs:
        if f.endswith('.ko'):
            files[f[:-3].replace('-', '_')] = os.path.join(root, f)
def deps(name):
    data = open(files[name], 'rb').read()
    m = re.search(rb'depends=([A-Za-z0-9_,-]*)', data)
    return [d.decode().replace('-', '_') for d in m.group(1).split(b',') if d] if m else []
order, seen = [], set()
def visit(n):
    n = n.replace('-', '_')
    if n in seen or n not in files:
        return
    seen.add(n)
    for d in deps(n):
        visit(d)
    order.append(n)
for w in want:
    visit(w)
for n in order:
    shutil.copy(files[n], os.path.join(dest, n + '.ko'))
open(os.path.join(dest, 'order'), 'w').write('\n'.join(n for n in order if n != 'scsi_debug') + '\n')
EOF

cat > initrd/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The guest's own output goes to the second serial port, away from kernel messages.
[ -c /dev/ttyS1 ] && exec >/dev/ttyS1 2>&1
for m in $(cat /mod/order); do insmod /mod/$m.ko || echo "insmod $m failed"; done
insmod /mod/scsi_debug.ko add_host=1 num_tgts=2 max_luns=2 dev_size_mb=8
EXPECT=$(sed -n 's/.*expect=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0; while [ $(ls /sys/bus/scsi/devices 2>/dev/null | grep -c '^[0-9]*:') -lt $EXPECT ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
i=0; while [ $(ls -d /sys/class/scsi_generic/sg* 2>/dev/null | wc -l) -lt $EXPECT ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
i=0; while [ $(ls /sys/class/block 2>/dev/null | grep -c '^s[dr]') -lt $((EXPECT)) ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "=== BEGIN REPORT"
for h in /sys/class/scsi_host/host*; do echo "--- $h unique_id=$(cat $h/unique_id) proc_name=$(cat $h/proc_name) realpath=$(realpath $h)"; done
for d in /sys/bus/scsi/devices/[0-9]*:*:*:*; do echo "--- $d sg=$(ls $d/scsi_generic 2>/dev/null) block=$(ls $d/block 2>/dev/null) type=$(cat $d/type) vendor=[$(cat $d/vendor)] model=[$(cat $d/model)] rev=[$(cat $d/rev)] realpath=$(realpath $d)"; done
echo "=== END REPORT"
echo "=== BEGIN DUMP"
# D dir | L link -> target | F mode path<TAB>first line | W mode path (unreadable)
dump() { find "$@" \( -name power -o -name queue -o -name mq -o -name integrity -o -name trace -o -name holders -o -name slaves -o -name msi_irqs -o -name bsg -o -name subsystem -o -name driver -o -name firmware_node \) -prune -o -print 2>/dev/null | while read p; do
    if [ -L "$p" ]; then echo "L $p -> $(readlink $p)";
    elif [ -d "$p" ]; then echo "D $p";
    else m=$(stat -c %a "$p"); if c=$(head -c 300 "$p" 2>/dev/null); then c=$(echo "$c" | head -n 1 | tr -d '\000'); echo "F $m $p	$c"; else echo "W $m $p"; fi; fi; done; }
for h in /sys/class/scsi_host/host*; do r=$(realpath $h); dump ${r%/scsi_host/*}; done
dump /sys/class/scsi_host /sys/class/scsi_generic /sys/bus/scsi/devices -maxdepth 1
for b in /sys/class/block/sd* /sys/class/block/sr*; do [ -L "$b" ] && echo "L $b -> $(readlink $b)"; done
for h in /sys/class/scsi_host/host*; do r=$(realpath $h); p=${r%/scsi_host/*}; p=${p%/*}
  while [ "$p" != "/sys/devices" ] && [ -n "$p" ]; do echo "D $p"; p=${p%/*}; done
done
echo "=== END DUMP"
poweroff -f
EOF
chmod +x initrd/init
(cd initrd && find . | ../root/bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 > initrd.cpio.gz

for g in g0 g1 g2 g3 g4; do truncate -s 8M $g.img; done
B() { echo "-blockdev driver=file,filename=$W/$1.img,node-name=$1"; }
EXPECT=6
START=$(date +%s)
timeout "${KBT_TIMEOUT:-240}" qemu-system-x86_64 -machine pc -accel tcg -m 512 -smp 1 -nodefaults \
  -display none -no-reboot -monitor none \
  -serial "file:$OUT/console.txt" -serial "file:$OUT/guest.txt" \
  -kernel "$KERNEL" -initrd initrd.cpio.gz \
  -append "console=ttyS0 loglevel=3 panic=-1 expect=$EXPECT" \
  $(B g0) $(B g1) $(B g2) $(B g3) $(B g4) \
  -device ide-hd,bus=ide.1,unit=0,drive=g4,id=ide1 \
  -device virtio-scsi-pci,id=scsi0,addr=0x5 \
  -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=g0,id=sd0 \
  -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=3,lun=5,drive=g1,id=sd1 \
  -device scsi-cd,bus=scsi0.0,channel=0,scsi-id=1,lun=0,id=cd0 \
  -device virtio-scsi-pci,id=scsi1,addr=0x6 \
  -device scsi-hd,bus=scsi1.0,channel=0,scsi-id=2,lun=7,drive=g2,id=sd2,wwn=0x5000c50015ea71ac \
  -device pci-bridge,id=br1,chassis_nr=1,addr=0x7 \
  -device virtio-scsi-pci,id=scsi2,bus=br1,addr=0x3 \
  -device scsi-hd,bus=scsi2.0,channel=0,scsi-id=9,lun=300,drive=g3,id=sd3 \
  || { echo "kernel-boot-test: qemu failed or timed out (see $OUT/console.txt)" >&2; exit 1; }
echo "kernel-boot-test: guest ran in $(( $(date +%s) - START )) s" >&2

G="$OUT/guest.txt"
grep -q '^=== END DUMP' "$G" || { echo "kernel-boot-test: the guest did not finish its dump (see $G, $OUT/console.txt)" >&2; exit 1; }
sed -n '/^=== BEGIN DUMP/,/^=== END DUMP/p' "$G" | tr -d '\r' > "$W/dump.txt"
rm -rf "$OUT/sysfs"
python3 "$HERE/mkfixture.py" "$W/dump.txt" "$OUT/sysfs" >&2
sed -n '/^=== BEGIN REPORT/,/^=== END REPORT/p' "$G" | tr -d '\r' > "$OUT/sysfs/truth.txt"
echo "kernel-boot-test: $(grep -c '^--- /sys/bus/scsi/devices/' "$OUT/sysfs/truth.txt") LUs, tree in $OUT/sysfs" >&2
