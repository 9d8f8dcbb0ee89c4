#!/usr/bin/env bash
# The scale-out check on a real scheduler: starts a one-node SLURM cluster on this machine (munge,
# slurmctld, slurmd; as root; installs Debian's slurm-wlm and munge when missing), submits an
# array of 3 shards of an `evaluate` (with retain prompts), of an `attack` and of a `generate
# --prompts` on the world model through submit.sh, each with its merge as a dependent job, waits,
# and checks that the merged results equal an unsharded run of the same command bit for bit (one
# torch thread everywhere). Prints the timings (per-shard wall time and model-load overhead) and
# the SLURM logs, and leaves everything under $WORK (default: a new folder in /tmp).
#
# Exit codes: 0 passed; 1 a check failed (perase did not build, a run or job failed, a merged file
# differs); 3 this machine cannot run SLURM at all (not root, slurm-wlm and munge cannot be
# installed, a daemon does not start, the node does not come up, a trivial job does not run), with
# one line "ci-check: SLURM cannot run here: REASON" on stdout. Never passes without having run
# the jobs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
fail() { echo "ci-check: FAILED: $*" >&2; exit 1; }
cannot() { echo "ci-check: SLURM cannot run here: $*"; exit 3; }
started=$(date +%s.%N)
[[ $(id -u) == 0 ]] || cannot "not root (it starts munged, slurmctld and slurmd)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge; } \
    || cannot "apt-get cannot install slurm-wlm and munge"
fi
WORK=${WORK:-$(mktemp -d /tmp/perase-slurm.XXXXXX)}
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/runs"
echo "ci-check: work folder $WORK"

# one torch thread in every run, so that sharded and unsharded runs can agree bit for bit
export OMP_NUM_THREADS=1
export PERASE_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"
./perase --help >/dev/null || fail "perase does not build"

# 1. munge and a one-node cluster of this machine
pids=()
cleanup() {
  scancel --user=root >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 143' TERM INT
if [[ ! -s /etc/munge/munge.key ]]; then
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/perase-ci.pid \
    || cannot "munged does not start (see /var/log/munge/munged.log)"
  sleep 1
  pids+=("$(cat /run/munge/perase-ci.pid)")
fi
munge -n | unmunge >/dev/null || cannot "munge does not authenticate"
node=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024) - 1024 }' /proc/meminfo)
cat > "$WORK/slurm.conf" <<CONF
ClusterName=perase-ci
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"
slurmctld -f "$SLURM_CONF" || cannot "slurmctld does not start (see $WORK/slurmctld.log)"
slurmd -f "$SLURM_CONF" || cannot "slurmd does not start (see $WORK/slurmd.log)"
sleep 2
pids+=("$(cat "$WORK/slurmd.pid")" "$(cat "$WORK/slurmctld.pid")")
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1)
  [[ $state == idle* || $state == mix* ]] && break
  sleep 1
done
[[ $state == idle* || $state == mix* ]] \
  || { tail -20 "$WORK/slurmctld.log" "$WORK/slurmd.log" >&2; cannot "the node is '$state', not idle"; }
sinfo
# a trivial job first: when it does not run, SLURM cannot run jobs here, whatever perase does
smoke=$(sbatch --parsable --output="$WORK/smoke.out" --wrap "echo smoke ok") \
  || cannot "sbatch refuses a trivial job"
for _ in $(seq 60); do
  [[ -z $(squeue -h -j "$smoke" -o %i 2>/dev/null) ]] && break
  sleep 1
done
smoke_state=$(scontrol show job "$smoke" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
[[ $smoke_state == COMPLETED ]] && grep -q "smoke ok" "$WORK/smoke.out" \
  || { tail -20 "$WORK/slurmd.log" >&2; cannot "a trivial job does not run (state '$smoke_state')"; }
echo "ci-check: a trivial job ran"

# 2. the runs, on a crude P-ESD mask of "star" (3 steps at a learning rate of 5: about a fifth of
# the weights pruned, so that the erased model's images and features differ from the base's):
# an evaluation of 12 prompts in batches of 2 with 6 retain prompts, an attack of 4 prompts
./perase erase --method p-esd --concept star --steps 3 --ddim-steps 4 --lr 5 \
  --out "$WORK/runs/mask" > "$WORK/erase.out" 2>&1 || fail "erase failed: $(tail -3 "$WORK/erase.out")"
mask="$WORK/runs/mask/mask.safetensors"
head -7 models/world/prompts/star_retain.csv > "$WORK/retain.csv"
eval_args=(--prompts models/world/prompts/star.csv --rows 0-11 --retain "$WORK/retain.csv"
  --mask "$mask" --steps 5 --batch 2 --cache "$WORK/runs/retain-cache")
attack_args=(--method unlearndiff --prompts models/world/prompts/star.csv --rows 20-23
  --mask "$mask" --steps 5 --attempts 2 --iterations 5)
generate_args=(--prompts models/world/prompts/star.csv --rows 12-23 --mask "$mask" --steps 5
  --batch 2)

# 3. first the unsharded runs on this machine, outside SLURM (one JVM, one model load each), alone
# so that their times are not shared with the shards'
t0=$(date +%s.%N)
./perase evaluate "${eval_args[@]}" --out "$WORK/runs/evaluate-unsharded" > "$WORK/evaluate-unsharded.out" 2>&1 \
  || fail "the unsharded evaluate failed: $(tail -3 "$WORK/evaluate-unsharded.out")"
t1=$(date +%s.%N)
./perase attack "${attack_args[@]}" --out "$WORK/runs/attack-unsharded" > "$WORK/attack-unsharded.out" 2>&1 \
  || fail "the unsharded attack failed: $(tail -3 "$WORK/attack-unsharded.out")"
t2=$(date +%s.%N)
./perase generate "${generate_args[@]}" --out "$WORK/runs/generate-unsharded" > "$WORK/generate-unsharded.out" 2>&1 \
  || fail "the unsharded generate failed: $(tail -3 "$WORK/generate-unsharded.out")"
t3=$(date +%s.%N)

# 4. the arrays and their merges through the scheduler
read -r eval_array eval_merge < <("$here/submit.sh" evaluate 3 "$WORK/runs/evaluate" "${eval_args[@]}")
read -r attack_array attack_merge < <("$here/submit.sh" attack 3 "$WORK/runs/attack" "${attack_args[@]}")
read -r generate_array generate_merge < <("$here/submit.sh" generate 3 "$WORK/runs/generate" "${generate_args[@]}")
echo "ci-check: submitted evaluate array $eval_array (merge $eval_merge), attack array $attack_array (merge $attack_merge), generate array $generate_array (merge $generate_merge)"
squeue
for _ in $(seq 3600); do
  [[ -z $(squeue -h -o %i) ]] && break
  sleep 2
done
[[ -z $(squeue -h -o %i) ]] && echo "ci-check: the queue is empty" || fail "jobs still queued after 2 hours"
for job in "$eval_array" "$eval_merge" "$attack_array" "$attack_merge" "$generate_array" "$generate_merge"; do
  scontrol show job "$job" | grep -E "JobId=|JobState=" | paste -sd' ' | tee -a "$WORK/jobs.txt"
done
if grep -v "JobState=COMPLETED" "$WORK/jobs.txt"; then fail "a job did not complete (above)"; fi

# 5. merged = unsharded, bit for bit
check() {
  local a=$1 b=$2 f=$3
  cmp "$a/$f" "$b/$f" || fail "$b/$f differs from the unsharded run's"
  echo "ci-check: same bytes: $f"
}
m="$WORK/runs/evaluate/merged"
u="$WORK/runs/evaluate-unsharded"
for f in per_prompt.json per_prompt.csv retain_features.safetensors; do check "$u" "$m" "$f"; done
for f in $(cd "$u" && find images -name '*.png' | sort); do cmp -s "$u/$f" "$m/$f" || fail "$f differs"; done
echo "ci-check: same bytes: $(cd "$u" && find images -name '*.png' | wc -l) images"
# results.json without what differs between any two runs (seconds, resumes, the cache's path)
figures() { grep -vE '"(seconds|resumed_prompts|base_features|base_reused)"' "$1"; }
diff <(figures "$u/results.json") <(figures "$m/results.json") || fail "results.json figures differ"
echo "ci-check: same results.json figures: $(grep -E '"(cer|flagged|frechet_distance)"' "$m/results.json" | tr -d ' \n')"
m="$WORK/runs/attack/merged"
u="$WORK/runs/attack-unsharded"
for f in results.json results.csv; do check "$u" "$m" "$f"; done
# every file of every prompt, but reference.safetensors, whose metadata holds the seconds it took
files=$(cd "$u" && find prompts -type f ! -name reference.safetensors | sort)
for f in $files; do cmp -s "$u/$f" "$m/$f" || fail "$f differs"; done
echo "ci-check: same bytes: $(echo "$files" | wc -l) files under prompts/ (images, attempts.json)"
m="$WORK/runs/generate/merged"
u="$WORK/runs/generate-unsharded"
for f in per_prompt.json per_prompt.jsonl; do check "$u" "$m" "$f"; done
for f in $(cd "$u" && find images -name '*.png' | sort); do cmp -s "$u/$f" "$m/$f" || fail "$f differs"; done
echo "ci-check: same bytes: $(cd "$u" && find images -name '*.png' | wc -l) generated images"

# 6. timings: per shard, the wall time and what the run itself counted (results.json seconds for
# evaluate, timing.json seconds for attack); the difference is the JVM start and model load
seconds() { sed -n 's/^  "seconds" : \([0-9.eE+-]*\),\{0,1\}$/\1/p' "$1"; }
echo "ci-check: unsharded evaluate: wall $(awk "BEGIN { print $t1 - $t0 }") s, in the run $(seconds "$WORK/runs/evaluate-unsharded/results.json") s"
echo "ci-check: unsharded attack: wall $(awk "BEGIN { print $t2 - $t1 }") s, in the run $(seconds "$WORK/runs/attack-unsharded/timing.json") s"
echo "ci-check: unsharded generate: wall $(awk "BEGIN { print $t3 - $t2 }") s, in the run $(seconds "$WORK/runs/generate-unsharded/results.json") s"
for kind in evaluate attack generate; do
  for log in "$WORK/runs/$kind"/perase-"$kind"-*_*.out; do
    k=$(sed -n 's/^task \([0-9]*\) wall seconds.*/\1/p' "$log")
    wall=$(sed -n 's/^task [0-9]* wall seconds \(.*\)/\1/p' "$log")
    own=$(seconds "$WORK/runs/$kind/shard-$k/$([[ $kind == attack ]] && echo timing.json || echo results.json)")
    echo "ci-check: $kind shard $k: wall ${wall} s, in the run ${own} s"
  done
done
echo "ci-check: logs:"
# without blank lines and the progress bars
for log in "$WORK/runs"/*/perase-*.out; do
  echo "== $log"
  sed 's/\r/\n/g' "$log" | grep -v -E '^\s*$| [0-9]+% \['
done
echo "ci-check: PASSED in $(awk "BEGIN { printf \"%.0f\", $(date +%s.%N) - $started }") s"
