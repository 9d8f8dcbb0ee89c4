#!/usr/bin/env python3
"""Prints the README's Results tables (markdown) from a demo's study.json.

    python3 scripts/study-tables.py out/demo/study.json     (or the study folder)

Per test bed: the CER on the test prompts and under UnlearnDiff and P4D, each with its Wilson 95 %
interval; the retain Fréchet distances (to the base model, to renderings) with their bootstrap
intervals; the pruned ratio; then the retain prompt following (shape, colour, style) and the paper's
claim. A study.json written before the intervals existed prints without them. Python 3 standard
library only.
"""
import json
import os
import sys


def number(v, fmt):
    return '—' if v is None else fmt % v


def with_interval(v, interval, fmt):
    """'0.85 [0.64, 0.95]'; the bare number when there is no interval, '—' when no number."""
    if v is None:
        return '—'
    if not interval:
        return fmt % v
    return (fmt + ' [' + fmt + ', ' + fmt + ']') % (v, interval[0], interval[1])


def distance(v):
    # the square-root term's rounding puts identical image sets at about -1e-5: shown as 0
    return None if v is None else max(0.0, v)


def fd_interval(interval):
    return None if not interval else [max(0.0, interval[0]), max(0.0, interval[1])]


def results_table(bed):
    out = [
        '| model | CER test ↑ | CER UnlearnDiff ↑ | CER P4D ↑ | retain FD to base ↓ '
        '| retain FD to rendered ↓ | pruned ratio |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    for r in bed['rows']:
        pr = r.get('pruned_ratio')
        out.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            r['model'],
            with_interval(r.get('cer_test'), r.get('cer_test_interval'), '%.2f'),
            with_interval(r.get('cer_unlearndiff'), r.get('cer_unlearndiff_interval'), '%.2f'),
            with_interval(r.get('cer_p4d'), r.get('cer_p4d_interval'), '%.2f'),
            with_interval(distance(r.get('retain_frechet')),
                          fd_interval(r.get('retain_frechet_interval')), '%.1f'),
            with_interval(distance(r.get('retain_frechet_rendered')),
                          fd_interval(r.get('retain_frechet_rendered_interval')), '%.1f'),
            '—' if pr is None else '%.2e' % pr))
    return out


def following_table(bed):
    rows = [r for r in bed['rows'] if r.get('prompt_following')]
    if not rows:
        return []
    heads = [h['head'] for h in rows[0]['prompt_following']['heads']]
    names = {'shape': 'shape', 'color': 'colour', 'style': 'style'}
    out = [
        '| model | ' + ' | '.join('%s agreement ↑' % names.get(h, h) for h in heads) + ' |',
        '| --- |' + ' --- |' * len(heads),
    ]
    for r in rows:
        cells = []
        for h in r['prompt_following']['heads']:
            cells.append(with_interval(h.get('share'), h.get('interval') if h.get('asked') else None,
                                       '%.2f'))
        out.append('| %s | %s |' % (r['model'], ' | '.join(cells)))
    asked = ', '.join('%s %d' % (names.get(h['head'], h['head']), h['asked'])
                      for h in rows[0]['prompt_following']['heads'])
    out.append('')
    out.append('(retain prompts naming each attribute: %s)' % asked)
    return out


def claims(bed):
    return ['- ' + c['text'] for c in bed.get('claims') or []]


def main(path):
    if os.path.isdir(path):
        path = os.path.join(path, 'study.json')
    with open(path, encoding='utf-8') as f:
        study = json.load(f)
    out = []
    for bed in study['beds']:
        out.append('**%s** (%s; CER on %d test prompts, attacks on %d, Fréchet distances on %d '
                   'retain prompts; 95 %% intervals in brackets: Wilson for a CER, bootstrap over '
                   'the retain prompts for a distance)\n' % (
                       bed['concept'], bed['kind'], bed['test_prompts'], bed['attack_prompts'],
                       bed['retain_prompts']))
        out.extend(results_table(bed))
        following = following_table(bed)
        if following:
            out.append('')
            out.append('Prompt following on the retain prompts (%s):\n' % bed['concept'])
            out.extend(following)
        if bed.get('claims'):
            out.append('')
            out.append("The paper's claim on %s (pruning resists attacks better than fine-tuning):\n"
                       % bed['concept'])
            out.extend(claims(bed))
        out.append('')
    print('\n'.join(out))


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: study-tables.py STUDY_FOLDER_OR_study.json')
    main(sys.argv[1])
