#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""The numbers on the README's front page, made from bench/results.

The README holds one generated block between the BEGIN and END markers
below: how the last bench/run.sh run was made, fork vs odfork latency by
size (bench/results/fork-latency.csv) and every target with its result
(the Targets table that bench/report.sh wrote into bench/RESULTS.md from
the same results).  Nothing else in the README may state a ratio such as
"90.8x": a number outside the block would not follow the results.

  tools/readme-numbers.py [--results DIR] [--report FILE] [--body]
        print the block (--body: without the marker lines; tools/demo.sh
        prints its results this way)
  tools/readme-numbers.py [...] --check README
        exit 1 (and print a diff) when README's block is not what the
        results give, when a ratio appears outside it, or when
        RESULTS.md and results/ come from different runs
  tools/readme-numbers.py [...] --update README
        rewrite README's block from the results

Run --update after bench/run.sh has written new results; the unit suite
runs --check (tests/unit/check-readme-numbers.sh).
"""

import argparse
import csv
import difflib
import os
import re
import sys
import textwrap

BEGIN = ('<!-- BEGIN readme-numbers: made by tools/readme-numbers.py'
         ' from bench/results; do not edit -->')
END = '<!-- END readme-numbers -->'

# A ratio stated in prose ("90.8x", "70-80x"): not inside a word, so that
# "x86-64" and hexadecimal numbers do not count.
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RATIO = re.compile(r'(?<![\w.])\d+(?:\.\d+)?x(?!\w)')


class ResultsError(Exception):
    """The results are missing or do not fit together."""


def read_info(path):
    """key: value lines of run-info.txt / guest-info.txt as a dict."""
    info = {}
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                key, sep, value = line.rstrip('\n').partition(': ')
                if sep and key not in info:
                    info[key] = value
    except OSError as e:
        raise ResultsError(f'{path}: {e.strerror}') from e
    return info


def size_name(nbytes):
    """64 MiB, 1 GiB, ... as RESULTS.md writes them."""
    for unit, shift in (('GiB', 30), ('MiB', 20), ('KiB', 10)):
        if nbytes >= 1 << shift and nbytes % (1 << shift) == 0:
            return f'{nbytes >> shift} {unit}'
    return f'{nbytes} B'


def ratio(a, b):
    """a / b with three significant digits at most, as '90.8x'."""
    r = a / b
    if r >= 100:
        return f'{r:.0f}x'
    if r >= 10:
        return f'{r:.1f}x'
    return f'{r:.2f}x'


def latency_rows(results):
    """Per size (64 MiB and up): fork and odfork min and median, in us."""
    path = os.path.join(results, 'fork-latency.csv')
    by_size = {}
    try:
        with open(path, newline='', encoding='utf-8') as f:
            for row in csv.DictReader(f):
                if row['mode'] not in ('fork', 'odfork'):
                    continue
                size = int(row['size_bytes'])
                by_size.setdefault(size, {})[row['mode']] = (
                    float(row['min_us']), float(row['median_us']))
    except OSError as e:
        raise ResultsError(f'{path}: {e.strerror}') from e
    except (KeyError, ValueError) as e:
        raise ResultsError(f'{path}: bad row ({e})') from e
    rows = []
    for size in sorted(by_size):
        modes = by_size[size]
        # The 64 KiB case is an empty process: nothing to share.
        if size < 1 << 20 or 'fork' not in modes or 'odfork' not in modes:
            continue
        rows.append((size, modes['fork'], modes['odfork']))
    if not rows:
        raise ResultsError(f'{path}: no fork and odfork rows')
    return rows


def latency_boots_note(results):
    """How many boots fork-latency ran in (bench/run.sh lists the further
    ones as fork-latency@N in steps.txt), as a note for the text."""
    try:
        with open(os.path.join(results, 'steps.txt'), encoding='utf-8') as f:
            more = sum(1 for line in f if line.startswith('fork-latency@'))
    except OSError:
        return ''
    if not more:
        return ''
    return (f' (the latency table: medians of {more + 1} boots\' '
            'medians)')


def report_targets(report):
    """The rows of RESULTS.md's Targets table: (target, measured, result)."""
    try:
        with open(report, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise ResultsError(f'{report}: {e.strerror}') from e
    m = re.search(r'^## Targets\n\n\| target \| measured \| result \|\n'
                  r'\|---\|---\|---\|\n((?:\|.*\|\n)+)', text, re.M)
    if not m:
        raise ResultsError(f'{report}: no Targets table')
    rows = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip('|').split(' | ')]
        if len(cells) != 3:
            raise ResultsError(f'{report}: bad Targets row: {line}')
        rows.append(tuple(cells))
    return text, rows


def check_same_run(report_text, report, run):
    """RESULTS.md must be the report of the run in results/."""
    date = run.get('date')
    if not date:
        raise ResultsError('run-info.txt has no date')
    if f'), {date};' not in report_text:
        raise ResultsError(f'{report} is not the report of the run of '
                           f'{date} in results/ (rerun bench/report.sh)')


def host_load(run):
    """'quiet' or 'shared', as bench/report.sh decides, and the loads."""
    cpus = int(run.get('host cpus', '0') or 0)
    before = run.get('host load before', '').split()
    after = run.get('host load after', '').split()
    if not cpus or not before or not after:
        raise ResultsError('run-info.txt lacks the host load or CPUs')
    busy = float(before[0]) > cpus or float(after[0]) > cpus
    return ('host shared with other jobs (noisy)' if busy else 'quiet host',
            before[0], after[0], cpus)


def para(text):
    """A prose paragraph wrapped at 72 columns, as a list of lines."""
    return textwrap.wrap(text, 72, break_long_words=False,
                         break_on_hyphens=False)


def block(results, report):
    """The generated block, markers included, as a list of lines."""
    run = read_info(os.path.join(results, 'run-info.txt'))
    guest = read_info(os.path.join(results, 'guest-info.txt'))
    report_text, targets = report_targets(report)
    check_same_run(report_text, report, run)
    load, before, after, cpus = host_load(run)
    rows = latency_rows(results)
    gib = [r for r in rows if r[0] == 1 << 30]
    met = sum(1 for t in targets if t[2] == 'met')
    # bench/run.sh records the accelerator since runs may use KVM.
    accel = run.get('accel', 'tcg').upper()
    link = os.path.relpath(report, TOP)
    if link.startswith('..'):
        link = os.path.abspath(report)

    out = [BEGIN, '']
    if gib:
        _, fork, odfork = gib[0]
        out += para(f'In the {"emulated " if accel == "TCG" else ""}VM, '
                    f'an on-demand fork of a process '
                    f'with 1 GiB of memory returns '
                    f'**{ratio(fork[1], odfork[1])}** sooner than fork() '
                    f'(medians; {ratio(fork[0], odfork[0])} at the '
                    f'minimums):') + ['']
    out += ['| size | fork median (us) | odfork median (us) '
            '| fork/odfork (medians) | fork/odfork (minimums) |',
            '|---|---:|---:|---:|---:|']
    for size, fork, odfork in rows:
        out.append(f'| {size_name(size)} | {fork[1]:.0f} | {odfork[1]:.0f} '
                   f'| {ratio(fork[1], odfork[1])} '
                   f'| {ratio(fork[0], odfork[0])} |')
    out += ['', f'{met} of the {len(targets)} targets are met, '
            f'{len(targets) - met} missed:', '',
            '| target | measured | result |', '|---|---|---|']
    for target, measured, result in targets:
        if result != 'met':
            result = f'**{result}**'
        out.append(f'| {target} | {measured} | {result} |')
    out += [''] + para(
        f'From the {run.get("variant", "?")} run of {run["date"]} '
        f'(`{run.get("command", "?")}`): one boot of the bench kernel'
        f'{latency_boots_note(results)} in '
        f'QEMU {"TCG" if accel == "TCG" else "with " + accel}, '
        f'{guest.get("cpus", "?")} vCPUs, on a {load} '
        f'(load average {before} before, {after} after, on {cpus} CPUs).  '
        + ('Times are those of an emulated CPU: compare the ratios.  '
           if accel == 'TCG' else '') + 'Every '
        f'number, the fault costs, Redis, AFL++ and SQLite: '
        f'[{link}]({link}).') + ['', END]
    return out


def split_readme(text, path):
    """(before, block, after) of README text, each a list of lines."""
    lines = text.split('\n')
    try:
        b = lines.index(BEGIN)
        e = lines.index(END, b)
    except ValueError as exc:
        raise ResultsError(f'{path}: no generated block (the line '
                           f'"{BEGIN}" ... "{END}")') from exc
    return lines[:b], lines[b:e + 1], lines[e + 1:]


def stray_ratios(before, after, path):
    """Lines outside the block that state a ratio."""
    found = []
    for n, line in enumerate(before, 1):
        if RATIO.search(line):
            found.append(f'{path}:{n}: {line.strip()}')
    offset = len(before) + 1
    for n, line in enumerate(after, 1):
        if RATIO.search(line):
            found.append(f'{path}:{offset + n}: {line.strip()}')
    return found


def main():
    ap = argparse.ArgumentParser(
        description='The README numbers, from bench/results.')
    ap.add_argument('--results', default=os.path.join(TOP, 'bench/results'))
    ap.add_argument('--report', help='default: RESULTS.md beside --results')
    ap.add_argument('--body', action='store_true',
                    help='print the block without its marker lines')
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--check', metavar='README')
    mode.add_argument('--update', metavar='README')
    args = ap.parse_args()
    report = args.report or os.path.join(
        os.path.dirname(os.path.abspath(args.results)), 'RESULTS.md')
    me = 'readme-numbers'

    try:
        want = block(args.results, report)
        if not args.check and not args.update:
            print('\n'.join(want[2:-2] if args.body else want))
            return 0
        path = args.check or args.update
        with open(path, encoding='utf-8') as f:
            text = f.read()
        before, have, after = split_readme(text, path)
    except (ResultsError, OSError) as e:
        print(f'{me}: {e}', file=sys.stderr)
        return 1

    if args.update:
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(before + want + after))
        return 0

    status = 0
    if have != want:
        print(f'{me}: {path} does not show what {args.results} holds; '
              f'run tools/readme-numbers.py --update {path}:',
              file=sys.stderr)
        sys.stderr.writelines(difflib.unified_diff(
            [line + '\n' for line in have], [line + '\n' for line in want],
            f'{path} (block)', 'from the results'))
        status = 1
    for line in stray_ratios(before, after, path):
        print(f'{me}: a ratio outside the generated block: {line}',
              file=sys.stderr)
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
