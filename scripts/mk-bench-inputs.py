#!/usr/bin/env python3
"""mk-bench-inputs.py: the inputs of scripts/bench-vs-libvirt.sh.

  mk-bench-inputs.py tree DIR HOSTS LUS_PER_HOST
      A sysfs tree at DIR (DIR/sys/…) with HOSTS virtio-scsi hosts, each under its own PCI
      function behind a root port (0000:00:1c.0/0000:BB:SS.F/virtioH/hostH, unique_id 0), and
      LUS_PER_HOST LUs on each (H:0:T:L, four LUNs per target, sgN and sdX numbered across
      the host), with the class and bus links the kernel makes. Built with the Tree class of
      mk-synthetic-fixtures.py, the layout of the committed fixtures.

  mk-bench-inputs.py lun-disks N [WRAP]
      A domain with N `<disk type='block' device='lun'>` on /dev/sdX, every one at an explicit
      drive address on virtio-scsi controllers (stdout). With WRAP, disk i's source is the
      (i mod WRAP)-th block device, so that every disk names an LU of a tree of WRAP LUs.

  mk-bench-inputs.py hostdevs N HOSTS LUS_PER_HOST FORM
      A domain with N SCSI hostdevs naming the first N LUs of such a tree (stdout), the adapter
      written as FORM: `parent` (parent='pci_0000_BB_SS_F' unique_id='0', the flat form) or
      `name` (name='scsi_hostH', the only form libvirt accepts in a hostdev).
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True


def tree_class():
    spec = importlib.util.spec_from_file_location(
        'mk_synthetic_fixtures', os.path.join(HERE, 'mk-synthetic-fixtures.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Tree


def letters(i):
    """The letters of the i-th disk (a … z, aa …), as libvirt names sdX."""
    s = ''
    i += 1
    while i > 0:
        i -= 1
        s = chr(ord('a') + i % 26) + s
        i //= 26
    return s


def pci(h):
    """The PCI function of host h: bus 1 + h/256 behind the root port, 32 slots of 8."""
    return 1 + h // 256, (h // 8) % 32, h % 8


def lu_addr(i):
    """Target and LUN of the i-th LU of a host: four LUNs per target."""
    return i // 4, i % 4


def tree(out, hosts, per_host):
    Tree = tree_class()
    t = Tree('bench', f"""
# bench: {hosts} virtio-scsi hosts with {per_host} LUs each (synthetic)

Written by `scripts/mk-bench-inputs.py tree`, for scripts/bench-vs-libvirt.sh.
""", root=out)
    n = 0
    for h in range(hosts):
        b, s, f = pci(h)
        hd = t.host(f'pci0000:00/0000:00:1c.0/0000:{b:02x}:{s:02x}.{f}/virtio{h}', h)
        for i in range(per_host):
            tg, l = lu_addr(i)
            t.lu(hd, f'{h}:0:{tg}:{l}', sg=f'sg{n}', block=f'sd{letters(n)}')
            n += 1


HEAD = ("<domain type='qemu'>\n  <name>bench</name>\n  <memory unit='MiB'>512</memory>\n"
        "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <devices>\n")
TAIL = "  </devices>\n</domain>\n"


def controllers(n):
    """virtio-scsi controllers for n devices at 128 units on each of the first targets:
    targets stay below 100 (libvirt's schema bound) and few PCI slots are used."""
    return n // 12_000 + 1


def drive(i, ctl):
    c = i % ctl
    k = i // ctl
    return f"<address type='drive' controller='{c}' bus='0' target='{k // 128}' unit='{k % 128}'/>"


def lun_disks(n, wrap=None):
    ctl = controllers(n)
    out = [HEAD]
    out += [f"    <controller type='scsi' index='{c}' model='virtio-scsi'/>\n" for c in range(ctl)]
    for i in range(n):
        d = 'sd' + letters(i)
        src = 'sd' + letters(i % wrap) if wrap else d
        out.append(
            f"    <disk type='block' device='lun'><driver name='qemu' type='raw'/>"
            f"<source dev='/dev/{src}'/><target dev='{d}' bus='scsi'/>{drive(i, ctl)}</disk>\n")
    out.append(TAIL)
    sys.stdout.write(''.join(out))


def hostdevs(n, hosts, per_host, form):
    if n > hosts * per_host:
        sys.exit(f'{n} hostdevs but the tree has {hosts * per_host} LUs')
    ctl = controllers(n)
    out = [HEAD]
    out += [f"    <controller type='scsi' index='{c}' model='virtio-scsi'/>\n" for c in range(ctl)]
    for i in range(n):
        h, j = i // per_host, i % per_host
        tg, l = lu_addr(j)
        if form == 'parent':
            b, s, f = pci(h)
            adapter = f"<adapter parent='pci_0000_{b:02x}_{s:02x}_{f}' unique_id='0'/>"
        else:
            adapter = f"<adapter name='scsi_host{h}'/>"
        out.append(
            f"    <hostdev mode='subsystem' type='scsi'><source>{adapter}"
            f"<address bus='0' target='{tg}' unit='{l}'/></source>{drive(i, ctl)}</hostdev>\n")
    out.append(TAIL)
    sys.stdout.write(''.join(out))


def main(argv):
    if len(argv) == 4 and argv[0] == 'tree':
        tree(argv[1], int(argv[2]), int(argv[3]))
    elif len(argv) in (2, 3) and argv[0] == 'lun-disks':
        lun_disks(int(argv[1]), int(argv[2]) if len(argv) == 3 else None)
    elif len(argv) == 5 and argv[0] == 'hostdevs' and argv[4] in ('parent', 'name'):
        hostdevs(int(argv[1]), int(argv[2]), int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
