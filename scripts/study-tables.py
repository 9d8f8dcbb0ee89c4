#!/usr/bin/env python3
"""Prints the README's result tables (markdown) from a demo's study.json: python3 scripts/study-tables.py out/demo/study.json"""
import json,sys
s=json.load(open(sys.argv[1]))
out=[]
def f(v,fmt='%.2f'):
    return '—' if v is None else fmt%v
for b in s['beds']:
    out.append(f"**{b['concept']}** ({b['kind']}; CER on {b['test_prompts']} test prompts, attacks on {b['attack_prompts']}, Fréchet distances on {b['retain_prompts']} retain prompts)\n")
    out.append('| model | CER test ↑ | CER UnlearnDiff ↑ | CER P4D ↑ | retain FD to base ↓ | retain FD to rendered ↓ | pruned ratio |')
    out.append('| --- | --- | --- | --- | --- | --- | --- |')
    for r in b['rows']:
        fd=r['retain_frechet']; fd=None if fd is None else max(0,fd)
        pr=r['pruned_ratio']
        out.append(f"| {r['model']} | {f(r['cer_test'])} | {f(r['cer_unlearndiff'])} | {f(r['cer_p4d'])} | {f(fd,'%.1f')} | {f(r.get('retain_frechet_rendered'),'%.1f')} | {'—' if pr is None else '%.2e'%pr} |")
    out.append('')
print('\n'.join(out))
