#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""split-cases.py OUTDIR TAG=SCRIPT...: cut cryptsetup's test scripts into
units that the peer suite runs one by one (selftests/peer/run-peer.sh).

cryptsetup's tests/integrity-compat-test and tests/luks2-integrity-test run
their cases in sequence and stop at the first failure. This tool reads a
copy of each script (never changed) and writes, per script TAG:

  OUTDIR/TAG/prelude.sh    everything up to the end of the last function
                           definition (variables and functions)
  OUTDIR/TAG/NNN.sh        one unit: prelude, then every top-level
                           statement that ran before the unit in the original
                           order and is not itself a case ("setup"), then the
                           unit's own statements
and appends one line per unit to OUTDIR/units.list:
  <index> <unit id> <kind> <title>

The rules, applied to the top-level statements after the last function:
- a *test function* is one whose body prints "[OK]"; every call to one, at
  top level or nested in a block, is one case (peer-lib.sh wraps the
  functions at run time and runs each call in a subshell);
- a top-level call to a test function is a unit of kind "call";
- `echo -n "TITLE"` when no block is open opens a unit of kind "block"
  (itself a case named TITLE); the statements that follow belong to it up to
  and including the first plain `echo` (the end of the case's output line)
  or compound statement (if ... fi);
- a compound statement that calls test functions, outside a block, is a
  unit of kind "group" (not a case itself: only the calls in it are);
- a plain `echo "..."` outside a block is a section header (kept as the
  section of the following units, not run);
- anything else outside a block is setup: it runs, in order, before every
  later unit (feature probes, `add_device`, `command -v ... || skip`).
Anything this parser cannot place (unbalanced if/fi, a heredoc without its
end) is an error, and scripts/peer-initramfs.sh compares the number of units
with the one selftests/peer/expected-units gives for the cryptsetup version,
so a new upstream version cannot be split silently wrong.
"""
import os
import re
import shlex
import sys

FUNC_RE = re.compile(r'^(?:function\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*(\{)?\s*(#.*)?$')
HEREDOC_RE = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")
ECHO_N_RE = re.compile(r'^echo\s+-n\s+(["\'])(.*)\1\s*$')
ECHO_RE = re.compile(r'^echo\s+(["\'])(.*)\1\s*$')
OPEN_WORDS = {'if': 'fi', 'while': 'done', 'for': 'done', 'until': 'done', 'case': 'esac'}
CLOSE_WORDS = {'fi', 'done', 'esac'}


class SplitError(Exception):
    pass


def first_word(line):
    s = line.strip()
    m = re.match(r'[^\s;]+', s)
    return m.group(0) if m else ''


def parse_functions(lines):
    """Return (functions {name: body text}, index of the first line after
    the last function definition)."""
    funcs = {}
    last_end = 0
    i = 0
    n = len(lines)
    while i < n:
        m = FUNC_RE.match(lines[i])
        if not m:
            i += 1
            continue
        name = m.group(1)
        j = i
        if not m.group(2):
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if j >= n or lines[j].strip() != '{':
                raise SplitError(f'line {i + 1}: function {name} without a body')
        k = j + 1
        while k < n and not re.match(r'^\}\s*$', lines[k]):
            k += 1
        if k >= n:
            raise SplitError(f'line {i + 1}: function {name} has no closing brace')
        funcs[name] = '\n'.join(lines[j + 1:k])
        last_end = k + 1
        i = k + 1
    return funcs, last_end


def statements(lines, base):
    """Split top-level code into statements: (first line no, text, compound)."""
    out = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        s = line.strip()
        if not s or s.startswith('#'):
            i += 1
            continue
        start = i
        depth = 0
        compound = False
        while True:
            s = lines[i].strip()
            w = first_word(s)
            if w in OPEN_WORDS:
                depth += 1
                compound = True
            elif w in CLOSE_WORDS:
                depth -= 1
            hd = HEREDOC_RE.search(s) if '<<' in s else None
            i += 1
            if hd:
                end = hd.group(1)
                while i < n and lines[i].strip() != end:
                    i += 1
                if i >= n:
                    raise SplitError(f'line {base + start + 1}: heredoc {end} never ends')
                i += 1
            if depth < 0:
                raise SplitError(f'line {base + i}: unbalanced {w}')
            if depth == 0 and not s.endswith('\\'):
                break
            if i >= n:
                raise SplitError(f'line {base + start + 1}: statement never ends')
        out.append((base + start + 1, '\n'.join(lines[start:i]), compound))
    return out


def calls_in(text, testfuncs):
    return [ln for ln in text.split('\n') if first_word(ln) in testfuncs]


def split(path):
    lines = open(path, encoding='utf-8').read().split('\n')
    funcs, main_start = parse_functions(lines)
    testfuncs = sorted(f for f, body in funcs.items()
                       if re.search(r'echo\s+"\[OK\]"', body))
    if not testfuncs:
        raise SplitError(f'{path}: no test functions (none prints "[OK]")')
    prelude = '\n'.join(lines[:main_start]) + '\n'
    units = []
    setup = []
    section = ''
    block = None

    def close_block():
        nonlocal block
        units.append(block)
        block = None

    for lineno, text, compound in statements(lines[main_start:], main_start):
        w = first_word(text)
        if block is not None:
            block['body'].append(text)
            if compound or ECHO_RE.match(text):
                close_block()
            continue
        if w in testfuncs and not compound:
            units.append({'kind': 'call', 'title': ' '.join(shlex.split(text)[:1]),
                          'body': [text], 'setup': list(setup), 'line': lineno,
                          'section': section})
            continue
        m = ECHO_N_RE.match(text)
        if m:
            block = {'kind': 'block', 'title': m.group(2), 'body': [text],
                     'setup': list(setup), 'line': lineno, 'section': section}
            continue
        if compound and calls_in(text, testfuncs):
            units.append({'kind': 'group', 'title': text.split('\n')[0].strip(),
                          'body': [text], 'setup': list(setup), 'line': lineno,
                          'section': section})
            continue
        m = ECHO_RE.match(text)
        if m:
            section = m.group(2)
            continue
        setup.append(text)
    if block is not None:
        raise SplitError(f'{path}: block "{block["title"]}" never ends')
    return prelude, testfuncs, units


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    listing = []
    index = 0
    for arg in sys.argv[2:]:
        tag, path = arg.split('=', 1)
        try:
            prelude, testfuncs, units = split(path)
        except SplitError as e:
            sys.exit(f'split-cases: {path}: {e}')
        d = os.path.join(outdir, tag)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'prelude.sh'), 'w') as f:
            f.write(prelude)
        for n, u in enumerate(units, 1):
            index += 1
            uid = f'{tag}-{n:03d}'
            with open(os.path.join(d, f'{n:03d}.sh'), 'w') as f:
                f.write(f'# unit {uid} ({u["kind"]}) from {os.path.basename(path)} '
                        f'line {u["line"]}; generated by split-cases.py\n')
                f.write('. "$PEER_DIR/units/%s/prelude.sh"\n' % tag)
                f.write('. "$PEER_DIR/peer-lib.sh"\n')
                f.write('__peer_wrap %s\n' % ' '.join(testfuncs))
                f.write('# --- setup: top-level statements before this unit\n')
                for s in u['setup']:
                    f.write(s + '\n')
                f.write('# --- the unit\n')
                body = '\n'.join(u['body'])
                if u['kind'] == 'block':
                    f.write('__peer_block_begin %s\n(\n%s\n) >"$PEER_CASE_LOG" 2>&1 </dev/null\n'
                            '__peer_block_end $?\n' % (shlex.quote(u['title']), body))
                else:
                    f.write(body + '\n')
                f.write('__peer_unit_end\n')
            title = u['title'] if u['kind'] != 'call' else u['body'][0].strip()
            # checksums make the listing unreadable and say nothing here
            title = re.sub(r'\b[0-9a-f]{64}\b', '', title)
            listing.append(f'{index} {uid} {u["kind"]} {" ".join(title.split())}')
    with open(os.path.join(outdir, 'units.list'), 'w') as f:
        f.write('\n'.join(listing) + '\n')


if __name__ == '__main__':
    main()
