#!/usr/bin/env bash
# P-ESD on one world concept at several pruning budgets (--prune-ratio), each evaluated on the
# bed's test prompts (CER) and retain prompts (Fréchet distance to the base model), then one table.
# Resumable: a finished erase or evaluation is skipped, an interrupted one continues.
#   scripts/sparsity-sweep.sh OUT [CONCEPT] [STEPS] [RATIOS...]
#   e.g. scripts/sparsity-sweep.sh out/sweep-red red 150 none 1e-2 1e-3 1e-4 1e-5
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: scripts/sparsity-sweep.sh OUT [CONCEPT] [STEPS] [RATIOS...]}"
concept="${2:-red}"
steps="${3:-150}"
shift $(( $# < 3 ? $# : 3 ))
ratios=("$@")
[[ ${#ratios[@]} -gt 0 ]] || ratios=(none 1e-2 1e-3 1e-4 1e-5)
prompts="$here/models/world/prompts/$(echo "$concept" | tr '[:upper:]' '[:lower:]')"
mkdir -p "$out"
for r in "${ratios[@]}"; do
  run="$out/p-esd-$r"
  budget=()
  [[ "$r" == none ]] || budget=(--prune-ratio "$r")
  # a step that stays non-finite in one process has passed when resumed in a new one (README,
  # Known problems): up to three fresh processes per run
  for try in 1 2 3; do
    grep -qs '"status" : "finished"' "$run/erase/config.json" && break
    resume=()
    [[ -f "$run/erase/checkpoint.safetensors" ]] && resume=(--resume)
    "$here/perase" erase --method p-esd --concept "$concept" --steps "$steps" --ddim-steps 10 \
      --checkpoint-every 25 "${budget[@]}" "${resume[@]}" --out "$run/erase" || [[ $try -lt 3 ]]
  done
  "$here/perase" evaluate --prompts "$prompts.csv" --retain "${prompts}_retain.csv" --steps 10 \
    --mask "$run/erase/mask.safetensors" --cache "$out/retain-cache" --out "$run/eval"
done
python3 - "$out" "${ratios[@]}" <<'PY'
import json, sys
out, ratios = sys.argv[1], sys.argv[2:]
print("| budget | pruned ratio | CER test | retain FD to base |")
print("| --- | --- | --- | --- |")
for r in ratios:
    c = json.load(open(f"{out}/p-esd-{r}/erase/config.json"))["result"]
    e = json.load(open(f"{out}/p-esd-{r}/eval/results.json"))
    fd = e["retain"]["frechet_distance"]
    print(f"| {r} | {c['pruned_ratio']:.2e} | {e['cer']:.2f} ({e['flagged']}/{e['prompts']} flagged) | {fd:.1f} |")
PY
