#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Table of run-mm.sh's results.tsv: one row per test, its result at each
vm.odfork value, run time and the odfork_* counters that moved.

    table.py RESULTS.TSV [OUT.md]

Prints the table (markdown) and writes it to OUT.md.  Exits 1 when a test
passes at vm.odfork=0 and does not at a higher value, or when a test left a
BUG/WARNING in the kernel log."""
import csv
import sys


def load(path):
    rows = {}
    order = []
    with open(path, newline='') as f:
        for r in csv.DictReader(f, delimiter='\t'):
            if r['test'] not in rows:
                rows[r['test']] = {}
                order.append(r['test'])
            prev = rows[r['test']].get(r['mode'])
            if prev and prev['dmesg'] != 'clean':
                r['dmesg'] = prev['dmesg']    # a retry keeps the verdict
            rows[r['test']][r['mode']] = r
    return order, rows


def cell(r):
    if r is None:
        return 'not run'
    s = r['result']
    if r['subtests'] != '0/0/0':
        s += ' (%s)' % r['subtests']
    if r['dmesg'] != 'clean':
        s += ' **dmesg**'
    if r.get('try', '1') != '1':
        s += ' (2nd try)'
    return s


def main():
    order, rows = load(sys.argv[1])
    modes = sorted({m for t in rows.values() for m in t}, key=int)
    head = ['test'] + ['odfork=%s' % m for m in modes] + \
        ['seconds (%s)' % '/'.join(modes), 'counters moved at %s' % modes[-1]]
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '---|' * len(head)]
    bad = []
    for t in order:
        r = rows[t]
        last = r.get(modes[-1])
        lines.append('| ' + ' | '.join(
            [t] + [cell(r.get(m)) for m in modes] +
            ['/'.join(r[m]['seconds'] if m in r else '-' for m in modes),
             last['counters'] if last else '-']) + ' |')
        base = r.get(modes[0])
        for m in modes[1:]:
            x = r.get(m)
            if base and base['result'] == 'pass' and x and \
               x['result'] != 'pass':
                bad.append('%s: pass at odfork=%s, %s at odfork=%s' %
                           (t, modes[0], x['result'], m))
        for m, x in r.items():
            if x['dmesg'] != 'clean':
                bad.append('%s: kernel log BUG/WARNING at odfork=%s' % (t, m))
    text = '\n'.join(lines) + '\n'
    text += '\nSubtests: passed/failed/skipped (TAP lines).  ' \
        'Counters: odfork_* /proc/vmstat deltas over the test ' \
        '("harness" is the runner\'s own share).\n'
    sys.stdout.write(text)
    if len(sys.argv) > 2:
        with open(sys.argv[2], 'w') as f:
            f.write(text)
    for b in bad:
        print('REGRESSION ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
