#!/usr/bin/env bash
# Wall time of `demo --quick` and the UNet step medians of `bench` with 1 and 2 torch threads and with
# OpenMP's passive wait policy, ROUNDS rounds interleaved (issue 16: threads that do not fight).
#   scripts/thread-bench.sh OUT [ROUNDS]     (about 2 min per configuration and round here)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: scripts/thread-bench.sh OUT [ROUNDS]}"
rounds="${2:-3}"
mkdir -p "$out"
"$here/perase" --version > /dev/null # build once before timing
printf 'config\tround\tdemo_quick_s\tbench_fwd_bwd\n' > "$out/times.tsv"
for r in $(seq 1 "$rounds"); do
  for cfg in t1 t2 t2-passive; do
    case $cfg in
      t1) threads=1; policy= ;;
      t2) threads=2; policy= ;;
      t2-passive) threads=2; policy=PASSIVE ;;
    esac
    opts="-Xmx4g -Dai.djl.pytorch.num_threads=$threads -Dai.djl.pytorch.num_interop_threads=1"
    rm -rf "$out/demo-$cfg"
    t0=$(date +%s.%N)
    OMP_WAIT_POLICY=$policy PERASE_JAVA_OPTS="$opts" "$here/perase" demo --quick --out "$out/demo-$cfg" \
      > "$out/demo-$cfg-$r.log" 2>&1
    t1=$(date +%s.%N)
    OMP_WAIT_POLICY=$policy PERASE_JAVA_OPTS="$opts" "$here/perase" bench --repeats 5 --steps 10 \
      --throughput none > "$out/bench-$cfg-$r.log" 2>&1
    fb=$(grep -i "forward+backward" "$out/bench-$cfg-$r.log" | head -1 | tr -s ' ' | cut -c1-120)
    printf '%s\t%s\t%.1f\t%s\n' "$cfg" "$r" "$(echo "$t1 - $t0" | bc)" "$fb" >> "$out/times.tsv"
  done
done
cat "$out/times.tsv"
