#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""report.py DIR KERNEL: the peer suite's verdict for one kernel.

DIR (build/peer/<K>) holds units.list and, per mode, the guest streams
<mode>.<boot>.log written by scripts/check-peer.sh. Only lines starting with
"PEER " are read (run-peer.sh prints them). Prints:
  peer <K> mode=<mode>: N passed, N failed, N n/a[, N missing]
for each mode, then a table (case, result per mode, mode-all deny reasons)
and the comparison: mode "nothing" must equal mode "nodmseal" case by case;
the differences of mode "all" are listed with their deny reasons.
Writes DIR/results.tsv and DIR/report.txt. Exit status 1 if mode "nothing"
differs from "nodmseal", if a unit never reported (crash, timeout), if mode
"nothing" saw any dmseal deny or pin, or if a mode's guest runs are missing.
"""
import glob
import os
import re
import sys

MODES = ['nodmseal', 'nothing', 'all']
SHORT = {'PASS': 'pass', 'FAIL': 'FAIL', 'NA': 'n/a', None: 'MISSING'}


def read_units(d):
    units = []
    with open(os.path.join(d, 'units.list')) as f:
        for line in f:
            p = line.rstrip('\n').split(' ', 3)
            if len(p) >= 3:
                units.append((int(p[0]), p[1], p[2], p[3] if len(p) > 3 else ''))
    return units


def boot_no(path):
    m = re.search(r'\.(\d+)\.log$', path)
    return int(m.group(1)) if m else 0


def norm_reason(line):
    """'dmseal: denied T target at sector N of NAME (M:m): REASON' ->
    'T: REASON' with volume-specific names folded."""
    m = re.search(r'dmseal: denied (\S+) target at sector \d+ of (\S+) \(\d+:\d+\): (.*)$', line)
    if not m:
        if 'callbacks suppressed' in line:
            return 'kernel log: some deny lines suppressed (ratelimit)'
        return line.strip()
    typ, reason = m.group(1), m.group(3)
    reason = re.sub(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', reason)
    reason = re.sub(r'\b\d+:\d+\b', 'M:m', reason)
    return f'{typ} target: {reason}'


def read_mode(d, mode):
    cases = {}     # id -> dict(result, rc, secs, name, deny=[...], tables=[...])
    order = []
    units_seen = {}
    info = {'boots': 0, 'policy': '', 'ev': {}, 'errors': [], 'notes': []}
    logs = sorted(glob.glob(os.path.join(d, f'{mode}.*.log')), key=boot_no)
    for path in logs:
        info['boots'] += 1
        with open(path, errors='replace') as f:
            for line in f:
                if not line.startswith('PEER '):
                    continue
                line = line.rstrip('\n')
                parts = line.split(' ', 3)
                kind = parts[1] if len(parts) > 1 else ''
                if kind == 'case':
                    m = re.match(r'PEER case (\S+) (\S+) rc=(\S+) secs=(\S+) ?(.*)$', line)
                    if m:
                        cid = m.group(1)
                        if cid not in cases:
                            order.append(cid)
                        cases[cid] = {'result': m.group(2), 'rc': m.group(3),
                                      'secs': m.group(4), 'name': m.group(5),
                                      'deny': [], 'tables': []}
                elif kind == 'deny' and len(parts) == 4:
                    cid = parts[2]
                    if cid.endswith('.setup'):
                        cases.setdefault(cid, {'result': 'SETUP', 'rc': '', 'secs': '',
                                               'name': 'unit setup', 'deny': [], 'tables': []})
                    if cid in cases:
                        cases[cid]['deny'].append(parts[3])
                elif kind == 'table' and len(parts) == 4:
                    if parts[2] in cases:
                        cases[parts[2]]['tables'].append(parts[3])
                elif kind == 'unit':
                    m = re.match(r'PEER unit (\d+) (\S+)', line)
                    if m:
                        units_seen[m.group(2)] = int(m.group(1))
                elif kind == 'policy':
                    info['policy'] = line[len('PEER policy '):]
                elif kind == 'events':
                    for k, v in re.findall(r'(\w+)=(\d+)', line):
                        info['ev'][k] = info['ev'].get(k, 0) + int(v)
                elif kind == 'error':
                    info['errors'].append(line[len('PEER error '):])
                elif kind == 'note':
                    info['notes'].append(line[len('PEER note '):])
    return cases, order, units_seen, info


def main():
    d, kernel = sys.argv[1], sys.argv[2]
    units = read_units(d)
    run = os.environ.get('PEER_MODES', ' '.join(MODES)).split()
    data = {m: read_mode(d, m) for m in MODES}
    bad = []
    out = []

    def p(s=''):
        out.append(s)

    # every case id in execution order, over all modes
    ids = []
    for m in MODES:
        for cid in data[m][1]:
            if cid not in ids:
                ids.append(cid)
    unit_index = {u[1]: u[0] for u in units}

    def sort_key(cid):
        base = cid.split('.')[0]
        sub = cid.split('.')[1] if '.' in cid else ''
        return (unit_index.get(base, 9999), int(sub) if sub.isdigit() else 0)
    ids.sort(key=sort_key)

    totals = {}
    for m in MODES:
        cases, order, seen, info = data[m]
        if info['boots'] == 0:
            if m in run:
                bad.append(f'mode {m}: no guest run')
            totals[m] = (0, 0, 0, 0)
            p(f'peer {kernel} mode={m}: not run')
            continue
        missing_units = [u[1] for u in units if u[1] not in seen]
        if info['boots'] and missing_units:
            bad.append(f'mode {m}: units that never reported (guest crash or timeout): '
                       + ' '.join(missing_units))
        for e in info['errors']:
            bad.append(f'mode {m}: guest error: {e}')
        n = {'PASS': 0, 'FAIL': 0, 'NA': 0}
        for cid in ids:
            r = cases.get(cid, {}).get('result')
            if r in n:
                n[r] += 1
        miss = sum(1 for cid in ids if cid not in cases)
        totals[m] = (n['PASS'], n['FAIL'], n['NA'], miss)
        line = f'peer {kernel} mode={m}: {n["PASS"]} passed, {n["FAIL"]} failed, {n["NA"]} n/a'
        if miss:
            line += f', {miss} missing'
        p(line)

    def evs(m):
        ev = data[m][3]['ev']
        return ' '.join(f'{k}={ev[k]}' for k in ('deny', 'pin', 'unpin') if k in ev) or '(none reported)'
    pol = data['all'][3]['policy']
    p(f'# mode=all sealed {pol or "(no policy line seen)"}')
    p(f'# dmseal events (dmsealctl monitor, all boots): mode=all {evs("all")}; '
      f'mode=nothing {evs("nothing")}')
    ev = data['nothing'][3]['ev']
    if data['nothing'][3]['boots'] and (ev.get('deny') or ev.get('pin')):
        bad.append(f'mode nothing: dmseal governed something: {evs("nothing")}')
    # every deny event must have been captured by some case (else a kernel
    # line was lost to the ratelimit: the reasons shown may be incomplete)
    ndeny = sum(len([r for r in c['deny'] if 'dmseal: denied' in r])
                for c in data['all'][0].values())
    if data['all'][3]['boots'] and ndeny != data['all'][3]['ev'].get('deny', ndeny):
        p(f'# note: {ndeny} deny lines captured in the kernel log, '
          f'{data["all"][3]["ev"]["deny"]} deny events: some lines were ratelimited')
    # a "N callbacks suppressed" line names the function whose messages were
    # ratelimited (e.g. set_capacity_and_notify: the block layer's): it is
    # dmseal's only if dmseal also sent deny events, checked above
    for cid, c in data['nothing'][0].items():
        if any('dmseal: denied' in r for r in c['deny']):
            bad.append(f'mode nothing: deny lines in case {cid}')

    # per-case table
    p()
    p(f'{"case":<9} {"nodmseal":<8} {"nothing":<8} {"all":<8} name / mode-all deny reasons')
    rows = []
    for cid in ids:
        res = [data[m][0].get(cid, {}).get('result') for m in MODES]
        name = next((data[m][0][cid]['name'] for m in MODES if cid in data[m][0]), '')
        reasons = []
        for r in data['all'][0].get(cid, {}).get('deny', []):
            nr = norm_reason(r)
            if nr not in reasons:
                reasons.append(nr)
        rows.append((cid, res, name, reasons))
        p(f'{cid:<9} {SHORT[res[0]]:<8} {SHORT[res[1]]:<8} {SHORT[res[2]]:<8} {name}')
        for r in reasons:
            p(f'{"":<36}  deny: {r}')
    # deny lines of unit setup (outside any case)
    for cid, c in data['all'][0].items():
        if cid.endswith('.setup'):
            for r in c['deny']:
                p(f'{cid:<36}  deny outside any case: {norm_reason(r)}')

    # comparison
    p()
    diff2 = [(cid, res) for cid, res, _, _ in rows if res[1] != res[0]]
    if not data['nothing'][3]['boots'] or not data['nodmseal'][3]['boots']:
        p(f'COMPARE {kernel} nothing vs nodmseal: not both run')
    elif diff2:
        p(f'COMPARE {kernel} nothing vs nodmseal: {len(diff2)} case(s) differ (must be none):')
        for cid, res in diff2:
            p(f'  {cid}: nodmseal={SHORT[res[0]]} nothing={SHORT[res[1]]}')
        bad.append(f'mode nothing differs from nodmseal in {len(diff2)} case(s)')
    else:
        p(f'COMPARE {kernel} nothing vs nodmseal: identical ({len(rows)} cases)')
    diff3 = [(cid, res, name, reasons) for cid, res, name, reasons in rows if res[2] != res[0]]
    p(f'COMPARE {kernel} all vs nodmseal: {len(diff3)} case(s) differ:')
    for cid, res, name, reasons in diff3:
        p(f'  {cid}: nodmseal={SHORT[res[0]]} all={SHORT[res[2]]}  {name}')
        for r in reasons or ['(no dmseal deny line: not refused by dmseal)']:
            p(f'      {r}')
    same_deny = [(cid, reasons) for cid, res, _, reasons in rows if res[2] == res[0] and reasons]
    if same_deny:
        p(f'  cases with deny lines but the same result as nodmseal: {len(same_deny)}')
        for cid, reasons in same_deny:
            for r in reasons:
                p(f'    {cid}: {r}')

    if bad:
        p()
        for b in bad:
            p(f'PEER-FAIL {kernel}: {b}')
    text = '\n'.join(out) + '\n'
    sys.stdout.write(text)
    with open(os.path.join(d, 'report.txt'), 'w') as f:
        f.write(text)
    with open(os.path.join(d, 'results.tsv'), 'w') as f:
        f.write('case\tname\t' + '\t'.join(MODES) + '\tdeny_all\n')
        for cid, res, name, reasons in rows:
            f.write('\t'.join([cid, name] + [SHORT[r] for r in res] + ['; '.join(reasons)]) + '\n')
    with open(os.path.join(d, 'totals'), 'w') as f:
        for m in MODES:
            f.write(f'{m} {" ".join(map(str, totals[m]))}\n')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
