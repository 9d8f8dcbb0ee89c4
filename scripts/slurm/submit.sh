#!/usr/bin/env bash
# Submits COMMAND (evaluate, attack, generate or fid) as an array of N shards and its merge as a
# dependent job; prints the two job ids. Extra sbatch options (resources) come from SBATCH_OPTIONS.
#
#   scripts/slurm/submit.sh evaluate 8 /shared/runs/i2p-pesd --prompts i2p.csv --mask m.safetensors \
#       --model /shared/sd-v1-4 --detector nudenet:/shared/best.onnx
#   SBATCH_OPTIONS="--gres=gpu:1 --time=04:00:00" scripts/slurm/submit.sh attack 8 ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command=${1:?usage: submit.sh evaluate|attack|generate|fid N OUT_ROOT OPTIONS...}
n=${2:?usage: submit.sh evaluate|attack|generate|fid N OUT_ROOT OPTIONS...}
out_root=${3:?usage: submit.sh evaluate|attack|generate|fid N OUT_ROOT OPTIONS...}
shift 3
case "$command" in evaluate|attack|generate|fid) ;; *) echo "submit.sh: evaluate, attack, generate or fid, not $command" >&2; exit 2 ;; esac
mkdir -p "$out_root"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --chdir="$PWD" --output="$out_root/%x-%A_%a.out" \
  --array=0-$((n - 1)) "$here/$command.sbatch" "$out_root" "$@")
merge=$(sbatch --parsable --chdir="$PWD" --output="$out_root/%x-%j.out" \
  --dependency=afterok:"${array%%;*}" "$here/merge.sbatch" "$out_root")
echo "$array $merge"
