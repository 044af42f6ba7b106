#!/usr/bin/env bash
# mask batch against pipe mode, as issue 4 asks: a folder of 40 files (24 CSV, 16 JSONL, 10 of them
# gzip, nested, ~380 MB decompressed) masked by `mask batch --threads 2`, against pipe mode on one
# CSV of the same decompressed size with `--threads 2`, both writing gzip to a local folder.
#
#   bash benchmarks/batch/run.sh [--runs 3] [--threads 2] [--parallel-files 2] [--work DIR]
#
# MASK_BIN=/path/to/mask (default .build/release/mask). Inputs are generated once into --work
# (default benchmarks/data/batch) with `mask bench --synthetic --emit`. Prints each run and the
# medians; CPU seconds (user+sys) are printed too, as they are less sensitive to a busy machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs=3
threads=2
parallel=2
work="$root/benchmarks/data/batch"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --parallel-files) parallel="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mask="${MASK_BIN:-$root/.build/release/mask}"
[[ -x "$mask" ]] || { echo "run.sh: $mask not found; swift build -c release --product mask (or set MASK_BIN)" >&2; exit 1; }
rules="$root/rules/pii.yaml"
export MASK_HMAC_KEY="${MASK_HMAC_KEY:-benchmark-key-not-for-production}"

src="$work/src"
if [[ ! -f "$work/.complete" ]]; then
  echo "==> generating inputs in $work" >&2
  rm -rf "$work"
  mkdir -p "$src"/{d1,d2/x,d3,d4}
  for i in $(seq 0 23); do
    d="$src/d$(( i % 4 + 1 ))"; [[ "$d" == "$src/d2" ]] && d="$src/d2/x"
    "$mask" bench --rules "$rules" --synthetic $(( 45000 + i * 10 )) --format csv --emit "$d/orders_$i.csv"
  done
  for i in $(seq 0 15); do
    d="$src/d$(( i % 4 + 1 ))"
    "$mask" bench --rules "$rules" --synthetic $(( 25000 + i * 10 )) --format jsonl --emit "$d/events_$i.jsonl"
  done
  find "$src" \( -name 'orders_1[0-5].csv' -o -name 'events_1[0-3].jsonl' \) -exec gzip -f {} \;
  total=$(python3 -c "
import gzip, os, sys
t = 0
for r, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        p = os.path.join(r, f)
        t += len(gzip.open(p).read()) if f.endswith('.gz') else os.path.getsize(p)
print(t)" "$src")
  # One CSV of the same decompressed size (~208 bytes a row).
  "$mask" bench --rules "$rules" --synthetic $(( total / 208 )) --format csv --emit "$work/one.csv"
  echo "$total" > "$work/.complete"
fi
total=$(cat "$work/.complete")
echo "inputs: $(find "$src" -type f | wc -l) files, $(( total / 1000000 )) MB decompressed; one.csv $(( $(stat -c %s "$work/one.csv") / 1000000 )) MB" >&2

measure() {  # label, command...: prints "elapsed cpu"
  local label="$1"; shift
  local out="$work/out"
  rm -rf "$out"
  local t
  /usr/bin/time -o "$work/time" -f "%e %U %S" "$@" --output "$out" -q >/dev/null 2>&1 || true
  t=$(tail -1 "$work/time")
  echo "$t" | awk -v l="$label" -v b="$total" '{ printf "%-6s %6.2f s  %6.1f MB/s  cpu %6.2f s\n", l, $1, b / $1 / 1e6, $2 + $3 }' >&2
  echo "$t" | awk '{ print $1, $2 + $3 }'
}

pipe_e=(); batch_e=(); pipe_c=(); batch_c=()
for run in $(seq 1 "$runs"); do
  read -r e c < <(measure pipe "$mask" --rules "$rules" --input "$work/one.csv" --threads "$threads")
  pipe_e+=("$e"); pipe_c+=("$c")
  read -r e c < <(measure batch "$mask" batch --rules "$rules" --input "$src" --threads "$threads" --parallel-files "$parallel")
  batch_e+=("$e"); batch_c+=("$c")
done
rm -rf "$work/out"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
pe=$(median "${pipe_e[@]}"); be=$(median "${batch_e[@]}"); pc=$(median "${pipe_c[@]}"); bc=$(median "${batch_c[@]}")
awk -v pe="$pe" -v be="$be" -v pc="$pc" -v bc="$bc" -v b="$total" -v t="$threads" -v p="$parallel" 'BEGIN {
  printf "| mode (threads %d) | median s | MB/s | CPU s |\n|---|---|---|---|\n", t
  printf "| pipe, one CSV | %.2f | %.1f | %.2f |\n", pe, b / pe / 1e6, pc
  printf "| batch, 40 files, %d in flight | %.2f | %.1f | %.2f |\n", p, be, b / be / 1e6, bc
  printf "\nbatch / pipe throughput: %.2f\n", pe / be
}'
