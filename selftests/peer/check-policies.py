#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""check-policies.py DIR: keep the two broad policies of the peer suite in step.

policy-broad.json is written for the coming policy format (up to 64
profiles, "tag_sizes" lists, 16 aead sizes and 16 algorithms per list,
"consumers"); policy-broad-v1.json says the same within today's limits (8
profiles, one "tag_size" each, 4 aead sizes, 4 algorithms per list, 8
cipher rules per profile). This checks that
- each file stays within the limits of its format;
- what v1 accepts is a subset of what the coming-format file accepts, per
  dimension (cipher rules with their aead sizes, tag sizes, algorithms, ...);
and prints what only the coming format can list: the cases that need it are
the ones mode "all" refuses today for that reason (see
Documentation/dmseal/peer-suite.rst). Exit 1 on a violation.
"""
import json
import os
import sys

LIMITS = {
    'v1': dict(profiles=8, ciphers=8, aead=4, algs=4, tags=1, other=4),
    'next': dict(profiles=64, ciphers=8, aead=16, algs=16, tags=16, other=4),
}
ALG_LISTS = ('internal_hash', 'journal_crypt', 'journal_mac')
FLAGS_C = ('allow_discards', 'allow_iv_large_sectors', 'allow_key_wipe')
FLAGS_I = ('allow_recalculate', 'allow_reset_recalculate', 'allow_legacy_recalculate',
           'allow_meta_device', 'allow_discards')


def tags_of(integ):
    if 'tag_sizes' in integ:
        return set(integ['tag_sizes'])
    return {integ['tag_size']}


def summary(pol, fmt, errors, name):
    lim = LIMITS[fmt]
    s = {'cipher+aead': set(), 'tag sizes': set(), 'modes': set(), 'block sizes': set(),
         'sector sizes': set(), 'key forms': set(), 'integrity options': set(),
         'crypt options': set(), 'other_targets': set(pol.get('other_targets', [])),
         'consumers': set(pol.get('consumers', []))}
    for a in ALG_LISTS:
        s[a] = set()
    # what one integrity target may combine: (tag size, internal_hash) pairs
    s['tag+internal_hash'] = set()
    profs = pol['profiles']
    if len(profs) > lim['profiles']:
        errors.append(f'{name}: {len(profs)} profiles > {lim["profiles"]}')
    if len(s['other_targets']) > lim['other']:
        errors.append(f'{name}: too many other_targets')
    for pr in profs:
        c, i = pr['crypt'], pr['integrity']
        n = pr['name']
        if len(c['ciphers']) > lim['ciphers']:
            errors.append(f'{name}: profile {n}: {len(c["ciphers"])} ciphers > {lim["ciphers"]}')
        aead = c['integrity'].get('aead_bytes', [])
        if len(aead) > lim['aead']:
            errors.append(f'{name}: profile {n}: {len(aead)} aead sizes > {lim["aead"]}')
        if fmt == 'v1' and 'tag_sizes' in i:
            errors.append(f'{name}: profile {n}: "tag_sizes" is not in today\'s format')
        if len(tags_of(i)) > lim['tags']:
            errors.append(f'{name}: profile {n}: {len(tags_of(i))} tag sizes > {lim["tags"]}')
        for r in c['ciphers']:
            for b in aead:
                s['cipher+aead'].add((r['spec'], r['key_size'], b))
            if not c['integrity'].get('required'):
                s['cipher+aead'].add((r['spec'], r['key_size'], None))
        s['tag sizes'] |= tags_of(i)
        s['modes'] |= set(i['modes'])
        s['block sizes'] |= set(i['block_sizes'])
        s['sector sizes'] |= set(c['sector_sizes'])
        s['key forms'] |= set(c['key_forms'])
        for a in ALG_LISTS:
            lst = i.get(a, [])
            if len(lst) > lim['algs']:
                errors.append(f'{name}: profile {n}: {len(lst)} {a} > {lim["algs"]}')
            s[a] |= set(lst)
        for t in tags_of(i):
            for h in i.get('internal_hash', []) + [None]:
                s['tag+internal_hash'].add((t, h))
        for f in FLAGS_I:
            if i.get(f):
                s['integrity options'].add(f)
        for f in ('require_fix_padding', 'require_fix_hmac'):
            if not i.get(f, True):
                s['integrity options'].add('no ' + f)
        for f in FLAGS_C:
            if c.get(f):
                s['crypt options'].add(f)
        if c.get('key_description_prefix', ''):
            s['key forms'].add('prefix:' + c['key_description_prefix'])
    return s


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    errors = []
    nxt = summary(json.load(open(os.path.join(d, 'policy-broad.json'))), 'next', errors,
                  'policy-broad.json')
    v1 = summary(json.load(open(os.path.join(d, 'policy-broad-v1.json'))), 'v1', errors,
                 'policy-broad-v1.json')
    for k in v1:
        extra = v1[k] - nxt[k]
        if extra:
            errors.append(f'policy-broad-v1.json allows {k} that policy-broad.json does not: '
                          f'{sorted(extra, key=str)}')
    only = nxt['tag sizes'] - v1['tag sizes']
    if only:
        print(f'check-policies: tag sizes only the coming format lists: {sorted(only)}')
    for k in ('cipher+aead', 'tag+internal_hash'):
        only = nxt[k] - v1[k]
        if only:
            print(f'check-policies: {len(only)} {k} combinations only the coming format lists')
    for e in errors:
        print(f'check-policies: error: {e}', file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == '__main__':
    main()
