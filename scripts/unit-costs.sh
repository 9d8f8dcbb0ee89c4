#!/usr/bin/env bash
# The unit costs behind the full study's time estimate (README, "The full study"), measured on the
# world model with one torch thread: seconds per erasing step of ESD, P-ESD (ρ 1e-2), AC and P-AC
# (x_t and anchor images from 10 DDIM steps), seconds per evaluation image (10 DDIM steps, batched
# as the study's evaluations are), and one attack prompt at the paper's budget (10 attempts × 40
# iterations) that no attempt breaks — the base model attacked towards a concept it does not draw
# (a star on red's first test prompt), so every attempt runs, as on a model that resists.
#   scripts/unit-costs.sh OUT [ERASE_STEPS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: scripts/unit-costs.sh OUT [ERASE_STEPS]}"
steps="${2:-8}"
export PERASE_JAVA_OPTS="${PERASE_JAVA_OPTS:--Xmx3g -Dai.djl.pytorch.num_threads=1}"
prompts="$here/models/world/prompts"
mkdir -p "$out"
now() { date +%s.%N; }
for m in esd p-esd ac p-ac; do
  budget=()
  [[ "$m" == p-esd ]] && budget=(--prune-ratio 1e-2)
  [[ -f "$out/erase-$m/config.json" ]] && grep -qs '"finished"' "$out/erase-$m/config.json" && continue
  "$here/perase" erase --method "$m" --concept red --steps "$steps" --ddim-steps 10 \
    --checkpoint-every 1000 "${budget[@]}" --out "$out/erase-$m" > "$out/erase-$m.log" 2>&1
done
if [[ ! -f "$out/evaluate.seconds" ]]; then
  t0=$(now)
  "$here/perase" evaluate --prompts "$prompts/red.csv" --limit 16 --steps 10 --concept red \
    --out "$out/evaluate" > "$out/evaluate.log" 2>&1
  echo "$(now) - $t0" | bc > "$out/evaluate.seconds"
fi
if [[ ! -f "$out/attack/results.json" ]]; then
  "$here/perase" attack --method unlearndiff --prompts "$prompts/red.csv" --limit 1 \
    --concept star --iterations 40 --attempts 10 --steps 10 --out "$out/attack" \
    > "$out/attack.log" 2>&1
fi
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print('| unit | seconds |')
print('| --- | --- |')
for m in ['esd', 'p-esd', 'ac', 'p-ac']:
    r = json.load(open(f'{out}/erase-{m}/config.json')).get('result') or {}
    print(f'| erase step, {m} | {r.get("seconds_per_step")} |')
ev = float(open(f'{out}/evaluate.seconds').read())
print(f'| evaluate, 16 test images, whole command (load included) | {ev:.1f} |')
t = json.load(open(f'{out}/attack/timing.json'))
print(f'| attack prompt, 10 × 40, no attempt breaks | {t["seconds_per_prompt"]:.1f} |')
print(f'| attack attempt (40 iterations and its image) | {t["seconds_per_attempt"]:.1f} |')
PY
