#!/usr/bin/env python3
"""Prints the README's Results tables (markdown) from a demo's study.json.

    python3 scripts/study-tables.py out/demo/study.json     (or the study folder)
    python3 scripts/study-tables.py out/study               (a `demo --study full` folder)

For a matched-point study (`demo --study full`): per test bed the matched-point table (the base
model and each method's chosen point: its setting, test CER, CER under UnlearnDiff and P4D with
Wilson 95 % intervals, retain Fréchet distance with its bootstrap interval, pruned ratio), the
prompt following of those models, every sweep point, and the paper's claim per bed with a verdict
and the warnings that limit it (a method without an erasing point).

For the short study:
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


def setting(p):
    """A sweep point as its label gives it, with its steps: 'ρ 1.5e-2, 300 steps'."""
    if p['label'].startswith('steps'):
        return p['label']
    return '%s, %d steps' % (p['label'], p['steps'])


def matched_table(bed):
    by_method = {w['method']: w for w in bed['sweeps']}
    out = [
        '| model | point | CER test ↑ | CER UnlearnDiff ↑ | CER P4D ↑ | retain FD to base ↓ '
        '| pruned ratio |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    for r in bed['matched']:
        w = by_method.get(r['model'])
        point = '—'
        if w and w.get('chosen'):
            c = w['chosen']
            p = next(p for p in w['points'] if p['point'] == c['point'])
            point = setting(p) + ('' if c['erases'] else ' (not erasing)')
        pr = r.get('pruned_ratio')
        out.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            r['model'], point,
            with_interval(r.get('cer_test'), r.get('cer_test_interval'), '%.2f'),
            with_interval(r.get('cer_unlearndiff'), r.get('cer_unlearndiff_interval'), '%.2f'),
            with_interval(r.get('cer_p4d'), r.get('cer_p4d_interval'), '%.2f'),
            with_interval(distance(r.get('retain_frechet')),
                          fd_interval(r.get('retain_frechet_interval')), '%.1f'),
            '—' if pr is None else '%.2e' % pr))
    return out


def sweep_table(bed):
    out = [
        '| method | point | CER test ↑ | CER UnlearnDiff ↑ | retain FD to base ↓ | pruned ratio '
        '| chosen |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    for w in bed['sweeps']:
        chosen = (w.get('chosen') or {}).get('point')
        for p in w['points']:
            r = p['row']
            pr = r.get('pruned_ratio')
            out.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                w['method'], setting(p),
                with_interval(r.get('cer_test'), r.get('cer_test_interval'), '%.2f'),
                with_interval(r.get('cer_unlearndiff'), r.get('cer_unlearndiff_interval'), '%.2f'),
                with_interval(distance(r.get('retain_frechet')),
                              fd_interval(r.get('retain_frechet_interval')), '%.1f'),
                '—' if pr is None else '%.2e' % pr,
                '✓' if p['point'] == chosen else ''))
    return out


def verdicts(bed):
    """One line per bed: the verdict of each comparison, e.g. 'P-ESD vs ESD: holds (UnlearnDiff)'."""
    parts = ['%s vs %s under %s: %s' % (c['pruned'].upper(), c['fine_tuned'].upper(),
                                         'UnlearnDiff' if c['attack'] == 'unlearndiff' else 'P4D',
                                         c['verdict'])
             for c in bed.get('claims') or []]
    return '- **%s**: %s' % (bed['concept'], '; '.join(parts) if parts else 'no claim tested yet')


def main_full(study):
    out = []
    for bed in study['beds']:
        out.append('**%s** (%s; CER on %d test prompts, attacks on %d at the study\'s budget, '
                   'Fréchet distances on %d retain prompts; chosen point: the lowest retain '
                   'distance among the points with test CER ≥ %.2f; 95 %% intervals in brackets: '
                   'Wilson for a CER, bootstrap over the retain prompts for a distance)\n' % (
                       bed['concept'], bed['kind'], bed['test_prompts'], bed['attack_prompts'],
                       bed['retain_prompts'], bed['erased_cer']))
        out.extend(matched_table(bed))
        following = following_table({'rows': bed['matched']})
        if following:
            out.append('')
            out.append('Prompt following on the retain prompts (%s):\n' % bed['concept'])
            out.extend(following)
        out.append('')
        out.append('Every sweep point (%s):\n' % bed['concept'])
        out.extend(sweep_table(bed))
        out.append('')
        out.append("The paper's claim on %s (pruning resists attacks better than fine-tuning), "
                   'at the chosen points:\n' % bed['concept'])
        out.extend(claims(bed) or ['- not tested yet'])
        out.extend('- warning: ' + w for w in bed.get('warnings') or [])
        out.append('')
    out.append("Verdict per bed on the paper's claim:\n")
    out.extend(verdicts(bed) for bed in study['beds'])
    print('\n'.join(out))


def main(path):
    if os.path.isdir(path):
        path = os.path.join(path, 'study.json')
    with open(path, encoding='utf-8') as f:
        study = json.load(f)
    if study['beds'] and 'matched' in study['beds'][0]:
        main_full(study)
        return
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
