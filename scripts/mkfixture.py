#!/usr/bin/env python3
"""mkfixture.py DUMP ROOT: rebuild a sysfs tree under ROOT from a guest dump
(format: ../shared/sysfs-real/README.md). Derived from the capture kit's mkfixture.py, with
the differences a git-tracked fixture needs:
- write-only and unreadable attributes ('W' lines) are skipped: git cannot keep their modes,
  and an absent attribute reads the same to the resolver as an unreadable one;
- lines that are not dump entries (kernel log lines interleaved on the console) are ignored;
- directories left empty get a '.gitkeep' so that git keeps them.
Symlink targets stay relative, so ROOT/sys/class/scsi_host/host6 resolves inside ROOT."""
import os, sys

dump, root = sys.argv[1], sys.argv[2]


def P(p):
    return os.path.join(root, p.lstrip('/'))


n = {'D': 0, 'L': 0, 'F': 0}
for raw in open(dump, 'rb').read().split(b'\n'):
    line = raw.decode('utf-8', 'replace')
    if len(line) < 3 or line[1] != ' ' or line[0] not in 'DLF':
        continue
    kind, rest = line[0], line[2:]
    if kind == 'D':
        os.makedirs(P(rest), exist_ok=True)
    elif kind == 'L':
        path, target = rest.split(' -> ', 1)
        os.makedirs(os.path.dirname(P(path)), exist_ok=True)
        if not target or '*' in path or os.path.lexists(P(path)):
            continue
        os.symlink(target, P(path))
    else:
        mode, rest = rest.split(' ', 1) if rest[0].isdigit() else ('444', rest)
        path, _, content = rest.partition('\t')
        os.makedirs(os.path.dirname(P(path)), exist_ok=True)
        if os.path.islink(P(path)) or os.path.isdir(P(path)):
            continue
        with open(P(path), 'w') as f:
            if content:
                f.write(content + '\n')
    n[kind] += 1
for d, subdirs, files in os.walk(root):
    if not subdirs and not files:
        open(os.path.join(d, '.gitkeep'), 'w').close()
print(f"built {root}: {n}")
