#!/usr/bin/env bash
# Before/after throughput of two mask binaries on the same inputs, beside pigz, interleaved so the
# machine's noise hits all alike: medians of N runs, ratios against `pigz -p 2 -6` measured in the
# same run.
#
#   bash benchmarks/compare/run.sh OLD_MASK OLD_RULES NEW_MASK NEW_RULES INPUT... [-- RUNS]
#
# For a .gz input the pigz column is `gzip -dc | pigz -p 2 -6`. Each binary masks with its own rules file (the shipped rules change between versions), gzip
# level 6, 2 threads, to /dev/null. Prints a Markdown table.
set -euo pipefail
old=$1 old_rules=$2 new=$3 new_rules=$4
shift 4
inputs=()
runs=5
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then runs=$2; break; fi
    inputs+=("$1"); shift
done
export MASK_HMAC_KEY=${MASK_HMAC_KEY:-benchmark-key-0123456789abcdef}
seconds() { local start end; start=$(date +%s.%N); "$@" > /dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "| input | MB | pigz -p 2 -6 s | old s | new s | old × pigz | new × pigz | new / old |"
echo "|---|---|---|---|---|---|---|---|"
for input in "${inputs[@]}"; do
    format=csv; case "$input" in *.jsonl*) format=jsonl ;; esac
    : > /tmp/cmp.pigz; : > /tmp/cmp.old; : > /tmp/cmp.new
    for _ in $(seq "$runs"); do
        # For a .gz input the reference decompresses it first (what re-compressing it costs).
        case "$input" in
            *.gz) seconds sh -c 'gzip -dc "$1" | pigz -p 2 -6' sh "$input" >> /tmp/cmp.pigz ;;
            *) seconds sh -c 'pigz -p 2 -6 < "$1"' sh "$input" >> /tmp/cmp.pigz ;;
        esac
        seconds "$old" --rules "$old_rules" --input "$input" --format "$format" --threads 2 -q >> /tmp/cmp.old
        seconds "$new" --rules "$new_rules" --input "$input" --format "$format" --threads 2 -q >> /tmp/cmp.new
    done
    p=$(median < /tmp/cmp.pigz); o=$(median < /tmp/cmp.old); n=$(median < /tmp/cmp.new)
    mb=$(( $(stat -c %s "$input") / 1000000 ))
    printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.3f |\n' "$(basename "$input")" "$mb" "$p" "$o" "$n" \
        "$(echo "$p / $o" | bc -l)" "$(echo "$p / $n" | bc -l)" "$(echo "$n / $o" | bc -l)"
done
