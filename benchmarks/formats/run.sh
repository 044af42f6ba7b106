#!/usr/bin/env bash
# Throughput of the database text formats against CSV on the same data, in the same run.
#
#   bash benchmarks/formats/run.sh [ROWS] [RUNS]     (defaults: 500000 rows, 5 runs)
#
# The synthetic extract (`mask bench --synthetic`) is written as CSV, then converted to what
# PostgreSQL's `COPY … TO STDOUT` (pgtext) and MySQL's `SELECT … INTO OUTFILE` (mysql) write for
# the same rows (Python's csv module reads it; NULL = the unquoted empty field). Each format is
# masked RUNS times, interleaved, with `--compress none` (the masking itself) and gzip level 6
# (what users run); medians of wall and CPU time and the throughput ratio to CSV (CSV time /
# format time: above 1 is faster) are printed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rows="${1:-500000}"
runs="${2:-5}"
mask="${MASK_BIN:-$root/.build/release/mask}"
data="$root/benchmarks/data"
mkdir -p "$data"
csv="$data/formats-$rows.csv"
[[ -f "$csv" ]] || "$mask" bench --synthetic "$rows" --emit "$csv"
python3 - "$csv" "$data/formats-$rows.pgtext" "$data/formats-$rows.mysql" <<'PY'
import csv, sys
src, pg, my = sys.argv[1:]
def esc(value, flavor):
    out = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return out.replace("\0", "\\0") if flavor == "mysql" else out
with open(src, newline="", encoding="utf-8") as f, open(pg, "w", encoding="utf-8", newline="") as p, open(my, "w", encoding="utf-8", newline="") as m:
    raw = f.read()
    header, _, _ = raw.partition("\n")
    f.seek(0)
    reader = csv.reader(f)
    names = next(reader)
    # Which fields were unquoted and empty (NULL in PostgreSQL's CSV) is lost by csv.reader:
    # empty values are written as NULL, as COPY would for NULL columns.
    p.write("\t".join(names) + "\n")
    m.write("\t".join(names) + "\n")
    for row in reader:
        p.write("\t".join(esc(v, "pg") if v != "" else "\\N" for v in row) + "\n")
        m.write("\t".join(esc(v, "mysql") if v != "" else "\\N" for v in row) + "\n")
PY
export MASK_HMAC_KEY="${MASK_HMAC_KEY:-benchmark-key-0123456789abcdef}"
declare -A times cpu
for run in $(seq "$runs"); do
  for format in csv pgtext mysql; do
    for compress in none gzip; do
      input="$csv"; [[ $format != csv ]] && input="$data/formats-$rows.$format"
      measured=$( { /usr/bin/time -f "%e %U %S" "$mask" -q --rules "$root/rules/pii.yaml" --format "$format" --compress "$compress" \
          --threads 2 --input "$input" > /dev/null; } 2>&1 | tail -1)
      read -r wall user system <<< "$measured"
      times["$format-$compress"]+="$wall "
      cpu["$format-$compress"]+="$(echo "$user + $system" | bc) "
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Wall time is what users see; CPU time (user + system) is steadier on a shared machine.
echo "| format | compress | input MB | median wall s | MB/s | wall vs CSV | median CPU s | CPU vs CSV |"
echo "|---|---|---|---|---|---|---|---|"
for compress in none gzip; do
  base=$(echo "${times[csv-$compress]}" | median)
  basecpu=$(echo "${cpu[csv-$compress]}" | median)
  for format in csv pgtext mysql; do
    input="$csv"; [[ $format != csv ]] && input="$data/formats-$rows.$format"
    mb=$(echo "scale=1; $(stat -c %s "$input") / 1000000" | bc)
    m=$(echo "${times[$format-$compress]}" | median)
    c=$(echo "${cpu[$format-$compress]}" | median)
    echo "| $format | $compress | $mb | $m | $(echo "scale=1; $mb / $m" | bc) | $(echo "scale=3; $base / $m" | bc) | $c | $(echo "scale=3; $basecpu / $c" | bc) |"
  done
done
