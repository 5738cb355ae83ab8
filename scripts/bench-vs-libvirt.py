#!/usr/bin/env python3
"""The measuring half of scripts/bench-vs-libvirt.sh (run it through that script, which builds,
generates the inputs and sets up libvirt's fake sysfs). Every command runs as a child process
waited for with wait4: wall time, CPU time (user + system) and peak RSS of that process alone.
Commands that share an input run alternately, run by run, so that a change in the machine's
load falls on both."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = [1, 100, 1000, 10000, 100000]
LIBVIRT_MAX = 10000  # virsh refuses a file above 10 MB (the 100,000-disk domain is 20 MB)


# Cases faster than this (seconds) get FAST_RUNS runs instead of --runs.
FAST_CASE = 0.05
FAST_RUNS = 21


def tree_for(n):
    return min(max(n, 10), 10000)


class Runner:
    def __init__(self, a):
        self.a = a
        self.results = {}

    def virsh(self, xml):
        return ['virsh', '-c', f'qemu:///embed?root={self.a.vroot}', 'domxml-to-native',
                'qemu-argv', xml]

    def once(self, cmd):
        with tempfile.TemporaryFile() as err:
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
            p.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            msg = err.read().decode(errors='replace').strip().splitlines()
        return {'wall': wall, 'cpu': ru.ru_utime + ru.ru_stime, 'rss_kb': ru.ru_maxrss,
                'code': p.returncode, 'err': msg[-1] if msg else ''}

    def group(self, cases, runs=None):
        """cases: [(key, cmd, ok_codes)]. Runs them alternately; keeps medians."""
        runs = runs or self.a.runs
        samples = {k: [] for k, _, _ in cases}
        def round_of(todo):
            for key, cmd, ok in todo:
                r = self.once(cmd)
                if r['code'] not in ok:
                    r['failed'] = True
                samples[key].append(r)
        for _ in range(runs):
            round_of(cases)
        # A case of a few milliseconds is mostly process start and scheduling noise: give it
        # FAST_RUNS samples in all (still alternating), so one slow start does not make its
        # median.
        fast = [c for c in cases
                if statistics.median(x['wall'] for x in samples[c[0]]) < FAST_CASE]
        for _ in range(max(0, FAST_RUNS - runs)):
            round_of(fast)
        for key, cmd, _ in cases:
            s = samples[key]
            res = {
                'cmd': ' '.join(os.path.relpath(c, self.a.work) if c.startswith(self.a.work) else c
                                for c in cmd),
                'runs': len(s),
                'wall': statistics.median(x['wall'] for x in s),
                'cpu': statistics.median(x['cpu'] for x in s),
                'rss_mb': max(x['rss_kb'] for x in s) / 1024,
                'failed': any(x.get('failed') for x in s),
                'err': s[-1]['err'] if any(x.get('failed') for x in s) else '',
            }
            self.results[key] = res
            shown = 'FAILED: ' + res['err'] if res['failed'] else \
                f"{fmt_t(res['wall'])} (cpu {fmt_t(res['cpu'])}, {res['rss_mb']:.0f} MB)"
            print(f'  {key:<34} {shown}', file=sys.stderr, flush=True)

    def strace_count(self, key, cmd):
        """Total system calls of one run (strace -f -c), when strace is there."""
        try:
            with tempfile.NamedTemporaryFile(mode='r') as out:
                subprocess.run(['strace', '-f', '-c', '-o', out.name] + cmd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                # "100.00  0.014  2  6137  5 total": the fourth column is the calls.
                last = [l for l in out.read().splitlines() if l.strip().endswith('total')]
                calls = int(last[-1].split()[3]) if last else None
        except (OSError, ValueError):
            calls = None
        self.results.setdefault(key, {})['syscalls'] = calls
        print(f'  {key:<34} {calls} system calls', file=sys.stderr, flush=True)

    def run(self):
        a, w = self.a, self.a.work
        d = lambda name: os.path.join(w, 'domains', name)
        t = lambda lus: os.path.join(w, 'trees', f'lus-{lus}')
        print('bench: lun-disk domains (convert, validate, fmt, resolve)', file=sys.stderr)
        for n in SIZES:
            cases = [(f'convert/{n}', [a.domxml, 'convert', '--sysfs-root', t(tree_for(n)),
                                       d(f'lun-{n}.xml')], (0,))]
            if a.libvirt and n <= LIBVIRT_MAX:
                cases.append((f'libvirt/{n}', self.virsh(d(f'lun-{n}.xml')), (0,)))
            cases += [
                (f'validate/{n}', [a.domxml, 'validate', d(f'lun-{n}.xml')], (0,)),
                (f'fmt/{n}', [a.domxml, 'fmt', d(f'lun-{n}.xml')], (0,)),
                (f'resolve/{n}', [a.domxml, 'resolve', '--sysfs-root', t(tree_for(n)),
                                  d(f'lun-wrap-{n}.xml')], (0,)),
            ]
            if a.baseline and n == 10000:
                cases.append((f'resolve/{n}/before', [a.baseline] + cases[-1][1][1:], (0,)))
            self.group(cases)
        if a.libvirt:
            # Once: the 100,000-disk domain is refused outright.
            self.group([('libvirt/100000', self.virsh(d('lun-100000.xml')), (0,))], runs=1)
        # In the namespace the big host is /sys itself, for domxml as for libvirt (the same
        # paths as on a real host); otherwise its tree.
        big = '/' if a.libvirt else t(10000)
        print('bench: SCSI hostdevs on the big host (1,000 hosts, 10,000 LUs)', file=sys.stderr)
        for n in (1, 10000):
            cases = []
            for form in ('parent', 'name'):
                cmd = [a.domxml, 'convert', '--sysfs-root', big, d(f'hostdev-{n}-{form}.xml')]
                cases.append((f'hostdev/{n}/{form}', cmd, (0,)))
                if a.baseline:
                    cases.append((f'hostdev/{n}/{form}/before',
                                  [a.baseline] + cmd[1:], (0,)))
            if a.libvirt:
                cases.append((f'hostdev/{n}/libvirt', self.virsh(d(f'hostdev-{n}-name.xml')), (0,)))
            # The same domain checked without any host: the XML side's share of `convert`.
            cases.append((f'hostdev/{n}/validate',
                          [a.domxml, 'validate', d(f'hostdev-{n}-name.xml')], (0,)))
            self.group(cases)
            for form in ('parent', 'name'):
                cmd = [a.domxml, 'convert', '--sysfs-root', big, d(f'hostdev-{n}-{form}.xml')]
                self.strace_count(f'hostdev/{n}/{form}', cmd)
                if a.baseline:
                    self.strace_count(f'hostdev/{n}/{form}/before', [a.baseline] + cmd[1:])


def fmt_t(s):
    if s is None:
        return '–'
    if s < 1:
        return f'{s * 1000:.0f} ms' if s >= 0.0095 else f'{s * 1000:.1f} ms'
    return f'{s:.2f} s'


def cell(r, key='wall'):
    if not r:
        return '–'
    if r.get('failed'):
        return 'fails'
    return fmt_t(r[key])


def mb(r):
    return f'{r["rss_mb"]:.0f} MB' if r and not r.get('failed') else '–'


def count(r):
    return f'{r["syscalls"]:,}' if r and r.get('syscalls') else '–'


def machine():
    cpu = ''
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    try:
        libvirt = subprocess.run(['virsh', '--version'], capture_output=True, text=True).stdout.strip()
    except OSError:
        libvirt = ''
    return cpu, os.cpu_count(), platform.release(), libvirt


def commit(repo):
    try:
        return subprocess.run(['git', '-C', repo, 'describe', '--always', '--dirty'],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return ''


def svg(res, path):
    """Time against number of disks, log-log, both tools."""
    series = [
        ('domxml convert', 'convert', '#1f77b4', ''),
        ('domxml validate', 'validate', '#2ca02c', ''),
        ('domxml fmt', 'fmt', '#9467bd', ''),
        ('domxml resolve', 'resolve', '#8c564b', ''),
        ('libvirt domxml-to-native', 'libvirt', '#d62728', '6,4'),
    ]
    pts = {}
    for label, key, _, _ in series:
        pts[key] = [(n, res[f'{key}/{n}']['wall']) for n in SIZES
                    if f'{key}/{n}' in res and not res[f'{key}/{n}'].get('failed')]
    ys = [y for v in pts.values() for _, y in v]
    if not ys:
        return
    import math
    ylo = math.floor(math.log10(min(ys)))
    yhi = math.ceil(math.log10(max(ys)))
    W, H, L, R, T, B = 720, 460, 70, 200, 40, 50
    pw, ph = W - L - R, H - T - B
    xlo, xhi = 0, 5

    def X(n):
        return L + (math.log10(n) - xlo) / (xhi - xlo) * pw

    def Y(s):
        return T + ph - (math.log10(s) - ylo) / (yhi - ylo) * ph

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="14">Time against domain size (SCSI lun disks), '
         f'log-log, median wall time</text>']
    for e in range(xlo, xhi + 1):
        x = X(10 ** e)
        o.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{T + ph}" stroke="#ddd"/>')
        o.append(f'<text x="{x:.1f}" y="{T + ph + 18}" text-anchor="middle">{10 ** e:,}</text>')
    for e in range(ylo, yhi + 1):
        y = Y(10 ** e)
        o.append(f'<line x1="{L}" y1="{y:.1f}" x2="{L + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        tick = f'{10 ** e * 1000:g} ms' if e < 0 else f'{10 ** e:g} s'
        o.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    o.append(f'<text x="{L + pw / 2}" y="{H - 12}" text-anchor="middle">disks in the domain</text>')
    for i, (label, key, color, dash) in enumerate(series):
        p = pts[key]
        if p:
            d = ' '.join(f'{X(n):.1f},{Y(s):.1f}' for n, s in p)
            da = f' stroke-dasharray="{dash}"' if dash else ''
            o.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{da}/>')
            for n, s in p:
                o.append(f'<circle cx="{X(n):.1f}" cy="{Y(s):.1f}" r="3" fill="{color}"/>')
        ly = T + 10 + i * 20
        da = f' stroke-dasharray="{dash}"' if dash else ''
        o.append(f'<line x1="{L + pw + 15}" y1="{ly}" x2="{L + pw + 40}" y2="{ly}" '
                 f'stroke="{color}" stroke-width="2"{da}/>')
        o.append(f'<text x="{L + pw + 46}" y="{ly + 4}">{label}</text>')
    if 'libvirt/100000' in res and res['libvirt/100000'].get('failed'):
        o.append(f'<text x="{L + pw + 15}" y="{T + 10 + len(series) * 20 + 8}" fill="#d62728">'
                 f'libvirt: 100,000 disks refused</text>')
        o.append(f'<text x="{L + pw + 15}" y="{T + 10 + len(series) * 20 + 24}" fill="#d62728">'
                 f'(file above 10 MB)</text>')
    o.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(o) + '\n')


def markdown(a, res, load_after):
    cpu, ncpu, kernel, libvirt = machine()
    g = lambda k: res.get(k)
    lines = []
    w = lines.append
    w('# Performance: domxml against libvirt')
    w('')
    w('Measured by `scripts/bench-vs-libvirt.sh` (re-run it to refresh this page: '
      '`--full` for 7 runs a case). Whole processes, release build, each command a child '
      'waited for with `wait4`: **median wall time** of the runs, CPU time (user + system) and '
      'the largest peak RSS. Commands on the same input run alternately, run by run. libvirt '
      'is `virsh -c qemu:///embed?root=DIR domxml-to-native qemu-argv` (its whole conversion, '
      'QEMU driver in-process, no daemon, capabilities probed before timing); for SCSI hostdevs '
      'it reads a fake sysfs: the whole measurement runs in a private mount namespace with the '
      'generated host bound over `/sys/{devices,bus,class}`, and domxml reads the same '
      '(`--sysfs-root /`).')
    w('')
    w(f'- Machine: {cpu or "?"}, {ncpu} cores of a virtual machine shared with other work, Linux '
      f'{kernel}, {libvirt and "libvirt " + libvirt}; load average (1, 5, 15 min) '
      f'{a.load_before} before, {load_after} after. Wall times on a loaded machine carry its '
      f'load: compare CPU times and ratios more than absolute values.')
    w(f'- domxml `{a.commit}`, {a.runs} runs a case ({FAST_RUNS} for a case under '
      f'{FAST_CASE * 1000:.0f} ms)'
      + (f'; "before" is `{os.path.basename(a.baseline)}` (an earlier build, given with '
         f'`--baseline`)' if a.baseline else '') + '.')
    w('- Inputs (`scripts/mk-bench-inputs.py`): domains of N `<disk type=\'block\' '
      'device=\'lun\'>` at explicit drive addresses on virtio-scsi controllers; sysfs trees '
      'of 10 LUs a host (the big host: 1,000 SCSI hosts, 10,000 LUs, each host under its own '
      'PCI function); hostdev domains naming the big host\'s first N LUs by PCI parent + '
      'unique_id (`parent`, the flat form) or by host name (`name`, the only form libvirt '
      'accepts in a hostdev).'
      + (' The inputs live in a tmpfs (`' + a.work + '`): sysfs itself is in memory, and a '
         'tree on disk makes both tools\' lookups wait on its caches.'
         if a.tmpfs else ''))
    w('')
    w('## The issue\'s table, re-measured')
    w('')
    w('| case | domxml | libvirt | libvirt ÷ domxml | domxml peak RSS | libvirt peak RSS | goal | met |')
    w('|---|---|---|---|---|---|---|---|')

    def row(label, dkey, lkey, goal, limit=None, mem=None):
        dr, lr = g(dkey), g(lkey) if lkey else None
        ratio = f'{lr["wall"] / dr["wall"]:.1f}×' if dr and lr and not dr.get('failed') \
            and not lr.get('failed') else '–'
        met = '–'
        if dr and limit is not None and not dr.get('failed'):
            ok = dr['wall'] <= limit and (mem is None or dr['rss_mb'] <= mem)
            met = 'yes' if ok else '**not yet**'
        cpu_note = f' (cpu {fmt_t(dr["cpu"])})' if dr and not dr.get('failed') else ''
        w(f'| {label} | {cell(dr)}{cpu_note} | {cell(lr) if lkey else "–"} | {ratio} | '
          f'{mb(dr)} | {mb(lr)} | {goal} | {met} |')

    # The goals are issue 11's, as written there.
    row('small domain (1 lun disk), convert', 'convert/1', 'libvirt/1', '≤ 3 ms', 0.003)
    row('10,000 disks, convert', 'convert/10000', 'libvirt/10000',
        '≥ 100× libvirt (≤ 70 ms)', 0.070)
    row('100,000 disks, convert', 'convert/100000', 'libvirt/100000', '< 1 s, < 300 MB', 1.0, 300)
    row('100,000 disks, validate', 'validate/100000', None, '< 0.6 s, < 300 MB', 0.6, 300)
    row('100,000 disks, fmt', 'fmt/100000', None, '< 0.6 s, < 300 MB', 0.6, 300)
    row('one SCSI hostdev on the big host, convert (`parent` form)', 'hostdev/1/parent',
        'hostdev/1/libvirt', '≤ 20 ms', 0.020)
    row('one SCSI hostdev on the big host, convert (`name` form)', 'hostdev/1/name',
        'hostdev/1/libvirt', '≤ 20 ms', 0.020)
    row('10,000 SCSI hostdevs on the big host, convert (`parent` form)', 'hostdev/10000/parent',
        'hostdev/10000/libvirt', '≤ 300 ms', 0.300)
    row('10,000 SCSI hostdevs on the big host, convert (`name` form)', 'hostdev/10000/name',
        'hostdev/10000/libvirt', '≤ 300 ms', 0.300)
    row('… the same domain, `validate` alone (no sysfs: the XML side\'s share)',
        'hostdev/10000/validate', None, '–')
    w('')
    if g('libvirt/100000') and g('libvirt/100000').get('failed'):
        w(f'libvirt on 100,000 disks: `{g("libvirt/100000")["err"]}` (virsh reads at most '
          f'10 MB of XML; the test-environment notes also record libvirt failing at 20,000 '
          f'disks with "Unable to encode message payload", its RPC message limit).')
        w('')
    if a.baseline:
        w('### Before and after (the `--baseline` build against this one)')
        w('')
        w('| case | before | after | before ÷ after | system calls before | after |')
        w('|---|---|---|---|---|---|')
        b, r = g('resolve/10000/before'), g('resolve/10000')
        if b and r:
            w(f'| `resolve`, 10,000 lun disks on 10,000 LUs | {cell(b)} (cpu {fmt_t(b["cpu"])}) '
              f'| {cell(r)} (cpu {fmt_t(r["cpu"])}) | {b["wall"] / r["wall"]:.1f}× | – | – |')
        for n in (1, 10000):
            for form in ('parent', 'name'):
                b, r = g(f'hostdev/{n}/{form}/before'), g(f'hostdev/{n}/{form}')
                if not (b and r):
                    continue
                ratio = f'{b["wall"] / r["wall"]:.0f}×' if not b.get('failed') else '–'
                plural = 's' if n > 1 else ''
                w(f'| {n:,} hostdev{plural}, `{form}` | {cell(b)} (cpu {fmt_t(b["cpu"])}) | '
                  f'{cell(r)} (cpu {fmt_t(r["cpu"])}) | {ratio} | {count(b)} | {count(r)} |')
        w('')
    else:
        calls = [(k, res[k].get('syscalls')) for k in res if k.startswith('hostdev/') and
                 res[k].get('syscalls')]
        if calls:
            w('System calls of one run: ' + ', '.join(f'{k} {c:,}' for k, c in calls) + '.')
            w('')
    w('### What the figures say')
    w('')
    sc = lambda k: (g(k) or {}).get('syscalls')
    one_p, one_n, ten_n, val = (g('hostdev/1/parent'), g('hostdev/1/name'),
                                g('hostdev/10000/name'), g('hostdev/10000/validate'))
    if one_n and one_p:
        w(f'- One hostdev named by host number costs {count(one_n)} system calls on the big '
          f'host, whatever its size ({cell(one_n)}): its class entry, its LU\'s bus entry and '
          f'`scsi_generic` directory. Named by PCI parent and unique_id, every '
          f'`sys/class/scsi_host/hostN` link is followed (its `readlink`, one `openat2` '
          f'that checks the whole path it names holds no symlink, and that call\'s `close`: '
          f'about three calls a host, {count(one_p)} for 1,000 hosts), as '
          f'libvirt\'s own pool lookup does (from 256 hosts on helper threads); that grows '
          f'with the number of SCSI hosts, not of LUs, and took {cell(one_p)} (CPU '
          f'{fmt_t(one_p["cpu"])}) here. libvirt cannot use that form in a hostdev at all.')
    if ten_n and val:
        w(f'- 10,000 hostdevs cost {count(ten_n)} system calls (about five an LU: its bus '
          f'link\'s `readlink`, one `openat2` that opens its `scsi_generic` directory through '
          f'a path checked to hold no symlink, two `getdents` and a `close`; about fourteen a '
          f'host). Of the {cell(ten_n)} (CPU {fmt_t(ten_n["cpu"])}), checking the XML alone '
          f'(`validate`, no host) takes {cell(val)}; the rest is the resolution (`cargo bench '
          f'--bench resolve`, column `hd resolve`, times it alone), about half of it in the '
          f'kernel, and emitting and printing 10,000 devices.')
    big = [(k, g(f'{k}/100000')) for k in ('convert', 'validate', 'fmt')]
    if all(r and not r.get('failed') for _, r in big):
        w('- 100,000 disks (20 MB of XML): ' + '; '.join(
            f'`{k}` {cell(r)} (CPU {fmt_t(r["cpu"])}), {mb(r)}' for k, r in big) +
          '. The document is read into an arena (names and values are ranges of the input); '
          'from 256 KiB of text, `<devices>` is read into it in pieces on every core, and '
          'from 4,096 devices, reading the model from it, writing `<devices>` back and '
          'building the disks\' and hostdevs\' arguments are cut into runs of 512 devices '
          'that the calling thread and one helper per other core take in turn, so CPU time '
          'exceeds wall time; `fmt` and `convert` keep no copy of the text. The binary '
          'allocates with mimalloc (v2), which advises transparent huge pages: with the C '
          'library\'s malloc a 10,000-disk `convert` made about 7,500 page faults (some 20 ms '
          'of kernel time on this VM, where a fault costs microseconds), with mimalloc about '
          '170; resident memory is then counted in 2 MiB pages, hence the peaks above. The '
          'tree\'s arenas are sized before reading (never copied while they grow). Where a '
          '10,000-disk `convert` goes (timed in process, before the allocator change): '
          'reading the file 2 ms, the tree 12–18 ms, the model 15–20 ms, `validate` 2–3 ms, '
          'the command line about 19 ms, writing it 1 ms, starting and ending the process '
          'about 5 ms (see CHANGELOG.md, issue 11).')
    w('')
    w('## Growth with the size of the domain')
    w('')
    w('![time against size, log-log, both tools](performance.svg)')
    w('')
    w('| disks | convert | validate | fmt | resolve (tree LUs) | libvirt | libvirt ÷ convert | '
      'convert peak RSS |')
    w('|---|---|---|---|---|---|---|---|')
    for n in SIZES:
        c, lv = g(f'convert/{n}'), g(f'libvirt/{n}')
        ratio = f'{lv["wall"] / c["wall"]:.1f}×' if c and lv and not lv.get('failed') else '–'
        v, f_, rs = g(f'validate/{n}'), g(f'fmt/{n}'), g(f'resolve/{n}')
        w(f'| {n:,} | {cell(c)} | {cell(v)} | {cell(f_)} | {cell(rs)} ({tree_for(n):,}) | '
          f'{cell(lv)} | {ratio} | {mb(c)} |')
    w('')
    w('`resolve` resolves every disk of the domain against a tree of min(max(N, 10), 10,000) '
      'LUs, each disk naming one of its block devices (so at 100,000 disks, ten disks name '
      'each LU). `convert` of lun disks reads no sysfs (a lun disk names its node itself).')
    w('')
    w('Growth ratio time(100,000) ÷ time(10,000) (linear is 10; the goal is ≤ 12):')
    w('')
    for k in ('convert', 'validate', 'fmt', 'resolve'):
        hi, lo = g(f'{k}/100000'), g(f'{k}/10000')
        if hi and lo and not hi.get('failed') and not lo.get('failed'):
            r = hi['wall'] / lo['wall']
            rc = hi['cpu'] / lo['cpu'] if lo['cpu'] else float('nan')
            verdict = 'met' if r <= 12 and rc <= 12 else \
                'met in wall time, **not** in CPU time' if r <= 12 else '**not yet**'
            note = ' (the tree stays at 10,000 LUs: ten disks an LU)' if k == 'resolve' else ''
            w(f'- {k}: {r:.1f} (CPU {rc:.1f}) — {verdict}{note}')
    w('')
    return '\n'.join(lines) + '\n'


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--domxml', required=True)
    p.add_argument('--baseline')
    p.add_argument('--work', required=True)
    p.add_argument('--tmpfs', type=int, default=0)
    p.add_argument('--repo', required=True)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--libvirt', type=int, default=1)
    p.add_argument('--vroot')
    p.add_argument('--docs', type=int, default=1)
    p.add_argument('--load-before', default='?')
    p.add_argument('--report-only', action='store_true',
                   help='write the report again from WORK/results.json, measuring nothing')
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    r = Runner(a)
    saved = os.path.join(a.work, 'results.json')
    if a.report_only:
        with open(saved) as f:
            r.results = json.load(f)
        meta = r.results.pop('_meta')
        a.runs, a.commit, a.load_before = meta['runs'], meta['commit'], meta['load_before']
        a.baseline = meta['baseline']
        load_after = meta['load_after']
    else:
        a.commit = commit(a.repo)
        r.run()
        load_after = ' '.join(open('/proc/loadavg').read().split()[:3])
        with open(saved, 'w') as f:
            meta = {'runs': a.runs, 'commit': a.commit, 'load_before': a.load_before,
                    'load_after': load_after, 'baseline': a.baseline}
            json.dump(dict(r.results, _meta=meta), f, indent=1, sort_keys=True)
    md = markdown(a, r.results, load_after)
    print(md)
    if a.docs:
        docs = os.path.join(a.repo, 'docs')
        with open(os.path.join(docs, 'performance.md'), 'w') as f:
            f.write(md)
        svg(r.results, os.path.join(docs, 'performance.svg'))
        print(f'bench: wrote {docs}/performance.md and performance.svg', file=sys.stderr)


if __name__ == '__main__':
    main()
