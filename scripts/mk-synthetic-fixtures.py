#!/usr/bin/env python3
"""mk-synthetic-fixtures.py OUTDIR: build the synthetic sysfs fixtures the real captures lack
(FC hosts and vports, several virtio-scsi hosts under one PCI device, LUs on several channels
and beyond virtio-scsi's address range, no sg driver, unusable
unique_id attributes, symlink loops and escapes, hostile names). Each tree mimics the kernel's
layout: /sys/devices/... directories, /sys/class/* and /sys/bus/scsi/devices links with
relative targets. Re-run it and commit the result when a scenario changes."""
import os, shutil, sys, textwrap


class Tree:
    """A sysfs tree under OUT/name (the scenarios below), or at `root` when given (the
    benchmark trees of scripts/mk-bench-inputs.py, which import this class)."""

    def __init__(self, name, readme, root=None):
        self.root = root or os.path.join(OUT, name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(os.path.join(self.root, 'sys/class'))
        with open(os.path.join(self.root, 'README.md'), 'w') as f:
            f.write(textwrap.dedent(readme).strip() + "\n")

    def p(self, rel):
        return os.path.join(self.root, rel.lstrip('/'))

    def file(self, rel, content):
        os.makedirs(os.path.dirname(self.p(rel)), exist_ok=True)
        with open(self.p(rel), 'w') as f:
            f.write(content + '\n')

    def link(self, rel, target):
        """A symlink at rel; an absolute target is kept as written (for escape tests), a
        target starting with 'sys/' is made relative to rel's directory."""
        os.makedirs(os.path.dirname(self.p(rel)), exist_ok=True)
        if target.startswith('sys/'):
            target = os.path.relpath(self.p(target), os.path.dirname(self.p(rel)))
        os.symlink(target, self.p(rel))

    def host(self, devdir, n, unique_id='0', proc='virtio_scsi'):
        """A SCSI host at sys/devices/<devdir>/hostN with its class directory and links."""
        hd = f'sys/devices/{devdir}/host{n}'
        cd = f'{hd}/scsi_host/host{n}'
        self.file(f'{hd}/uevent', 'DEVTYPE=scsi_host')
        if unique_id is not None:
            self.file(f'{cd}/unique_id', unique_id)
        self.file(f'{cd}/proc_name', proc)
        self.link(f'sys/class/scsi_host/host{n}', cd)
        self.link(f'sys/bus/scsi/devices/host{n}', hd)
        return hd

    def lu(self, hostdir, hctl, sg=None, block=None, type_='0', vendor='QEMU', model='QEMU HARDDISK',
           wwid=None, sg_class=True):
        h, b, t, l = hctl.split(':')
        td = f'{hostdir}/target{h}:{b}:{t}'
        ld = f'{td}/{hctl}'
        self.file(f'{ld}/type', type_)
        self.file(f'{ld}/vendor', f'{vendor:<8}')
        self.file(f'{ld}/model', f'{model:<16}')
        self.file(f'{ld}/rev', '2.5+')
        if wwid:
            self.file(f'{ld}/wwid', wwid)
        if sg:
            self.file(f'{ld}/scsi_generic/{sg}/dev', f'21:{sg[2:]}')
            self.link(f'{ld}/generic', f'{ld}/scsi_generic/{sg}')
            if sg_class:
                self.link(f'sys/class/scsi_generic/{sg}', f'{ld}/scsi_generic/{sg}')
        if block:
            minor = (ord(block[-1]) - ord('a')) * 16 if block.startswith('sd') else 0
            major = 8 if block.startswith('sd') else 11
            self.file(f'{ld}/block/{block}/dev', f'{major}:{minor}')
            self.link(f'sys/class/block/{block}', f'{ld}/block/{block}')
        self.link(f'sys/bus/scsi/devices/{hctl}', ld)

    def fc(self, hostdir, n, wwnn, wwpn, fabric, vport=False, state='Online'):
        fd = f'{hostdir}/fc_host/host{n}'
        self.file(f'{fd}/node_name', wwnn)
        self.file(f'{fd}/port_name', wwpn)
        self.file(f'{fd}/fabric_name', fabric)
        self.file(f'{fd}/port_state', state)
        if vport:
            self.file(f'{fd}/vport_create', '')
            self.file(f'{fd}/max_npiv_vports', '64')
            self.file(f'{fd}/npiv_vports_inuse', '1')
        self.link(f'sys/class/fc_host/host{n}', fd)


def main():
    # --- fc: two physical FC HBAs (NPIV-capable) on one dual-port card, a vHBA under the first.
    t = Tree('fc', """
    # fc: Fibre Channel HBAs and an NPIV vport (synthetic)

    A made-up host with a dual-port FC card at 0000:04:00.0 / 0000:04:00.1 behind the root port
    0000:00:03.0 (lpfc-style layout):

    - host5: physical port 0, wwnn 0x20000000c9831b4b, wwpn 0x10000000c9831b4b, fabric
      0x2002000573de9a81, vport-capable, one LU 5:0:1:2 (sg1, sdb);
    - host6: physical port 1, wwnn 0x20000000c9831b4c, wwpn 0x10000000c9831b4c, fabric
      0x2002000573de9a82, vport-capable, no LUs;
    - host7: a vHBA created on host5 (`…/host5/vport-5:0-0/host7`), wwnn 0x2000001a4a7f1234,
      wwpn 0x2100001a4a7f1234, one LU 7:0:0:0 (sg3, sdc, wwid naa.600a0b80001f2a3b0000c1d2e3f40001).

    Written by `scripts/mk-synthetic-fixtures.py`; the layout follows the kernel's
    scsi_transport_fc (fc_host class, vport-N:0-M devices) as documented in
    Documentation/scsi/scsi_fc_transport.rst.
    """)
    h5 = t.host('pci0000:00/0000:00:03.0/0000:04:00.0', 5, unique_id='0', proc='lpfc')
    t.fc(h5, 5, '0x20000000c9831b4b', '0x10000000c9831b4b', '0x2002000573de9a81', vport=True)
    t.lu(h5, '5:0:1:2', sg='sg1', block='sdb', vendor='IBM', model='2145', wwid='naa.600a0b80001f2a3b0000c1d2e3f40002')
    h6 = t.host('pci0000:00/0000:00:03.0/0000:04:00.1', 6, unique_id='1', proc='lpfc')
    t.fc(h6, 6, '0x20000000c9831b4c', '0x10000000c9831b4c', '0x2002000573de9a82', vport=True)
    h7 = t.host('pci0000:00/0000:00:03.0/0000:04:00.0/host5/vport-5:0-0', 7, unique_id='2', proc='lpfc')
    t.fc(h7, 7, '0x2000001a4a7f1234', '0x2100001a4a7f1234', '0x2002000573de9a81')
    t.lu(h7, '7:0:0:0', sg='sg3', block='sdc', vendor='IBM', model='2145', wwid='naa.600a0b80001f2a3b0000c1d2e3f40001')

    # --- virtio-multi: several virtio-scsi hosts under one PCI function.
    t = Tree('virtio-multi', """
    # virtio-multi: several SCSI hosts under one PCI function sharing unique_id 0 (synthetic)

    Two virtio-scsi hosts, host2 (`…/0000:00:07.0/virtio0/host2`) and host3
    (`…/0000:00:07.0/virtio1/host3`), both with unique_id 0, under one PCI function, plus host4
    (unique_id 0) alone under 0000:00:08.0. Naming 0000:00:07.0 by PCI parent and unique_id is
    therefore ambiguous and must be refused with both candidates listed; 0000:00:08.0 resolves.
    LUs: 2:0:0:0 (sg0, sda), 3:0:0:0 (sg1, sdb), 4:0:2:3 (sg2, sdc), 4:0:2:4 (sg3, no block
    device: a tape-like LU that becomes scsi-generic), 4:1:0:0 (sg4, sdd, on bus 1).

    Written by `scripts/mk-synthetic-fixtures.py`.
    """)
    h2 = t.host('pci0000:00/0000:00:07.0/virtio0', 2)
    h3 = t.host('pci0000:00/0000:00:07.0/virtio1', 3)
    h4 = t.host('pci0000:00/0000:00:08.0/virtio2', 4)
    t.lu(h2, '2:0:0:0', sg='sg0', block='sda')
    t.lu(h3, '3:0:0:0', sg='sg1', block='sdb')
    t.lu(h4, '4:0:2:3', sg='sg2', block='sdc')
    t.lu(h4, '4:0:2:4', sg='sg3', type_='1', model='QEMU TAPE')
    t.lu(h4, '4:1:0:0', sg='sg4', block='sdd')

    # --- multi-bus: RAID-style hosts with LUs on several channels and addresses virtio-scsi lacks.
    t = Tree('multi-bus', """
    # multi-bus: LUs on several channels and beyond virtio-scsi's range (synthetic)

    Two megaraid_sas-style hosts directly under their PCI functions, like the q35 capture's RAID
    card:

    - host0 (unique_id 48, 0000:00:06.0): LUs 0:0:1:0 (sg0, sda), 0:2:1:0 (sg1, sdb: the same
      target and LUN on channel 2) and 0:2:3:0 (sg2, sdc). Passing the whole host through must
      refuse to fold channel 2 onto channel 0; restricted to bus 2 target 1 it works.
    - host1 (unique_id 49, 0000:00:07.0): LUs 1:0:300:0 (sg3, sdd: target 300, above
      virtio-scsi's 255) and 1:0:5:49152 (sg4, sde: LUN 0xc000, extended addressing, above
      virtio-scsi's 16383). Neither can keep its address in a guest, so both are refused.

    Written by `scripts/mk-synthetic-fixtures.py`.
    """)
    h0 = t.host('pci0000:00/0000:00:06.0', 0, unique_id='48', proc='megaraid_sas')
    t.lu(h0, '0:0:1:0', sg='sg0', block='sda')
    t.lu(h0, '0:2:1:0', sg='sg1', block='sdb')
    t.lu(h0, '0:2:3:0', sg='sg2', block='sdc')
    h1 = t.host('pci0000:00/0000:00:07.0', 1, unique_id='49', proc='megaraid_sas')
    t.lu(h1, '1:0:300:0', sg='sg3', block='sdd')
    t.lu(h1, '1:0:5:49152', sg='sg4', block='sde')

    # --- no-sg: the sg driver is not loaded.
    t = Tree('no-sg', """
    # no-sg: a host without the sg driver (synthetic)

    One virtio-scsi host, host0 under 0000:00:05.0, with LUs 0:0:0:0 (sda) and 0:0:1:0 (a
    tape without block device). No `scsi_generic` directory exists anywhere and there is no
    /sys/class/scsi_generic: this is what sysfs looks like before `modprobe sg`.

    Written by `scripts/mk-synthetic-fixtures.py`.
    """)
    h0 = t.host('pci0000:00/0000:00:05.0/virtio0', 0)
    t.lu(h0, '0:0:0:0', block='sda')
    t.lu(h0, '0:0:1:0', type_='1', model='QEMU TAPE')

    # --- unreadable: unique_id attributes that cannot be used.
    t = Tree('unreadable', """
    # unreadable: unique_id attributes that cannot be read or parsed (synthetic)

    Three AHCI-style hosts under 0000:00:1f.2:
    - host0 (`ata1/host0`): its `unique_id` is a directory, so reading it fails (EISDIR), the
      portable stand-in for an attribute the kernel refuses to read;
    - host1 (`ata2/host1`): unique_id 2, with LU 1:0:0:0 (sg0, sda);
    - host2 (`ata3/host2`): unique_id `abc`, not a number.
    libvirt aborts its whole search at host0; domxml skips host0 and host2 with a warning and
    still finds host1.

    Written by `scripts/mk-synthetic-fixtures.py`.
    """)
    ha = t.host('pci0000:00/0000:00:1f.2/ata1', 0, unique_id=None, proc='ahci')
    t.file(f'{ha}/scsi_host/host0/unique_id/.gitkeep', '')
    hb = t.host('pci0000:00/0000:00:1f.2/ata2', 1, unique_id='2', proc='ahci')
    t.lu(hb, '1:0:0:0', sg='sg0', block='sda', vendor='ATA')
    t.host('pci0000:00/0000:00:1f.2/ata3', 2, unique_id='abc', proc='ahci')

    # --- hostile: loops, escapes and names sysfs never produces.
    t = Tree('hostile', """
    # hostile: symlink loops, links out of the root, names sysfs never produces (synthetic)

    One good host, host0 under 0000:00:05.0 (unique_id 0) with LU 0:0:0:0 (sg0, sda). Around it:
    - `class/scsi_host/host8` points into a two-link loop (`devices/loop/a` ↔ `b`);
    - `class/scsi_host/host9` points to `/etc` (absolute: outside any root);
    - `class/scsi_host/host10` climbs with `..` above the root to `etc`;
    - `bus/scsi/devices/0:0:5:0` points to `/etc`;
    - `class/scsi_host/host1;reboot`, `class/scsi_host/host 2` and `class/scsi_host/hostX`
      have names the kernel never gives a host;
    - `bus/scsi/devices/0:0:0:0;x` has a name no LU has.
    Every one of them must be skipped with a warning, never followed, and host0 must still resolve.

    Written by `scripts/mk-synthetic-fixtures.py`.
    """)
    h0 = t.host('pci0000:00/0000:00:05.0/virtio0', 0)
    t.lu(h0, '0:0:0:0', sg='sg0', block='sda')
    os.makedirs(t.p('sys/devices/loop'))
    os.symlink('b', t.p('sys/devices/loop/a'))
    os.symlink('a', t.p('sys/devices/loop/b'))
    t.link('sys/class/scsi_host/host8', 'sys/devices/loop/a')
    t.link('sys/class/scsi_host/host9', '/etc')
    t.link('sys/class/scsi_host/host10', '../../../../../../../../../../../../etc')
    t.link('sys/bus/scsi/devices/0:0:5:0', '/etc')
    t.link('sys/class/scsi_host/host1;reboot', 'sys/devices/pci0000:00/0000:00:05.0/virtio0/host0/scsi_host/host0')
    t.link('sys/class/scsi_host/host 2', 'sys/devices/pci0000:00/0000:00:05.0/virtio0/host0/scsi_host/host0')
    t.link('sys/class/scsi_host/hostX', 'sys/devices/pci0000:00/0000:00:05.0/virtio0/host0/scsi_host/host0')
    t.link('sys/bus/scsi/devices/0:0:0:0;x', 'sys/devices/pci0000:00/0000:00:05.0/virtio0/host0/target0:0:0/0:0:0:0')
    print('built', ', '.join(sorted(os.listdir(OUT))))


if __name__ == '__main__':
    OUT = sys.argv[1]
    main()
