#!/usr/bin/env bash
# mask extract against plain psql \copy from a 1M-row PostgreSQL table (the extract issue):
#
#   (a) psql "$URL" -c "\copy (select * from t) to stdout csv" | pigz -p 2 -6 > /dev/null
#   (b) mask extract --from "$URL" --table t --rules rules/pii.yaml --output DIR --overwrite -q
#   (c) psql "$URL" -c "\copy (select * from t) to stdout csv" > /dev/null       (the read limit)
#
#   bash benchmarks/extract/run.sh [--rows 1000000] [--runs 3] [--rules FILE] [--threads N] [--keep]
#
# A throwaway PostgreSQL cluster (initdb + pg_ctl, as the postgres user when run as root, fsync=off,
# a free port on 127.0.0.1, a temporary folder) is started and removed on exit. The table gets
# realistic personal data (names, e-mails, phones in mixed international formats, free-text notes with
# e-mails and phones among order numbers, dates, IP addresses and versions; some NULLs and empty
# strings), then VACUUM ANALYZE. Every command runs once as an untimed warm-up, then all of them
# round-robin --runs times; the table shows median, min and max wall seconds, MB/s of the table's CSV
# bytes and the ratio against (a). Results go to stdout and benchmarks/results/extract-latest.md.
#
# env MASK_BIN: binary to measure (default .build/release/mask).
# env PG_BIN: PostgreSQL binaries (default: newest /usr/lib/postgresql/*/bin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows=1000000
runs=3
rules="$root/rules/pii.yaml"
threads=""
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rules) rules="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
(( runs >= 1 )) || { echo "run.sh: --runs must be at least 1" >&2; exit 2; }

mask="${MASK_BIN:-$root/.build/release/mask}"
[[ -x "$mask" ]] || { echo "run.sh: $mask not found (swift build -c release --product mask, then set MASK_BIN)" >&2; exit 1; }
for tool in psql pigz python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install postgresql pigz python3)" >&2; exit 1; }
done
if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)"
fi
[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || { echo "run.sh: no initdb/pg_ctl under '$PG_BIN' (apt-get install postgresql)" >&2; exit 1; }
export MASK_HMAC_KEY="benchmark-key-not-for-production-0123456789"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

as_postgres() {  # runs a PostgreSQL binary, as the postgres user when we are root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---- throwaway cluster ------------------------------------------------------------------------------
tmp="$(mktemp -d /tmp/mask-extract-bench.XXXXXX)"
chmod 755 "$tmp"
[[ $(id -u) -eq 0 ]] && chown postgres: "$tmp"
started=0
cleanup() {
  if (( started )); then as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  if (( keep )); then echo "run.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> initdb in $tmp" >&2
as_postgres "$PG_BIN/initdb" -D "$tmp/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
port=""
for _ in 1 2 3 4 5; do
  candidate="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  if as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -w -l "$tmp/server.log" \
       -o "-p $candidate -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c max_wal_size=4GB" \
       start >/dev/null 2>&1; then
    port="$candidate"; started=1; break
  fi
done
[[ -n "$port" ]] || { echo "run.sh: pg_ctl could not start a server" >&2; tail -20 "$tmp/server.log" >&2 || true; exit 1; }
url="postgresql://postgres@127.0.0.1:$port/bench"
psql "postgresql://postgres@127.0.0.1:$port/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench" >/dev/null

# ---- the table --------------------------------------------------------------------------------------
echo "==> creating t with $rows rows" >&2
t0=$(date +%s.%N)
psql "$url" -qAt -v ON_ERROR_STOP=1 -v rows="$rows" >/dev/null <<'SQL'
CREATE TABLE t (
  id bigint PRIMARY KEY,
  full_name text,
  email text,
  phone text,
  created_at timestamptz,
  amount numeric(12,2),
  note text
);
-- Deterministic: every value is a function of i (no random()), so each run gets the same bytes.
INSERT INTO t
SELECT i,
  CASE WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN ''
       ELSE fn || ' ' || ln END,
  CASE WHEN i % 53 = 0 THEN NULL WHEN i % 61 = 0 THEN ''
       WHEN i % 5 = 0 THEN upper(left(fn, 1)) || lower(ln) || '+' || (i % 100) || '@' || dom
       ELSE lower(fn) || '.' || lower(ln) || (i % 1000) || '@' || dom END,
  CASE WHEN i % 17 = 0 THEN NULL WHEN i % 41 = 0 THEN ''
       ELSE ph END,
  timestamptz '2020-01-01 00:00:00+00' + make_interval(secs => (i * 7919) % 157680000),
  round(((i * 104729) % 10000000) / 100.0, 2),
  CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN ''
       ELSE CASE i % 12
         WHEN 0 THEN 'Customer asked to be reached at ' || lower(fn) || '.' || lower(ln) || '@' || dom || ' about order ORD-2024-' || lpad((i % 1000000)::text, 6, '0')
         WHEN 1 THEN 'Order ORD-2024-' || lpad((i % 1000000)::text, 6, '0') || ' shipped ' || to_char(date '2024-01-01' + (i % 365)::int, 'YYYY-MM-DD') || ', tracking 1Z' || lpad((i % 99999999)::text, 8, '0') || 'X'
         WHEN 2 THEN 'Call back on ' || ph || ' after 5 pm re invoice INV-2024-' || lpad((i % 10000)::text, 4, '0')
         WHEN 3 THEN 'Deployed v' || (i % 20) || '.' || (i % 17) || '.' || (i % 31) || ' to 10.' || (i % 256) || '.' || ((i / 256) % 256) || '.' || (i % 254 + 1) || ', no customer impact'
         WHEN 4 THEN 'Paid $' || to_char(((i * 31) % 9999999) / 100.0, 'FM999,999,990.00') || ' on ' || to_char(date '2023-01-01' + (i % 700)::int, 'DD.MM.YYYY') || ' by card ending ' || lpad((i % 10000)::text, 4, '0')
         WHEN 5 THEN 'Spoke with ' || fn || ' (' || ph || '); confirmed new address, email ' || lower(left(fn, 1)) || lower(ln) || '@' || dom
         WHEN 6 THEN 'Refund approved for SO-' || (100 + i % 900) || '-' || lpad((i % 100000)::text, 5, '0') || ' (' || to_char(((i * 13) % 50000) / 100.0, 'FM99990.00') || ' EUR)'
         WHEN 7 THEN 'Login from 192.168.' || (i % 256) || '.' || (i % 200 + 1) || ' at ' || to_char(timestamp '2024-03-05 00:00' + make_interval(secs => i % 86400), 'YYYY-MM-DD HH24:MI:SS') || ', 2FA ok'
         WHEN 8 THEN 'Prefers "email" over phone; duplicate of account ' || (1000000 + i * 7) || ', merged'
         WHEN 9 THEN 'Left voicemail, customer said: call me at ' || ph || ', or write to ' || lower(ln) || '@' || dom
         WHEN 10 THEN 'Upgraded to plan pro-' || (i % 5) || ' (build 3.18.' || (i % 9) || '.' || (i % 6889) || '), invoice sent'
         ELSE 'No contact details given; ticket #' || (900000 + i % 99999) || ' closed'
       END END
FROM (
  SELECT i,
    (ARRAY['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David','Elizabeth',
           'William','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Priya','Arjun',
           'Aarav','Ananya','Hiroshi','Yuki','Haruto','Sakura','Kenji','Aiko','Lukas','Emma',
           'Sophie','Mateo','Lucía','Chloé','Léa','Olivia','Noah','Mia','Wei','Fatima'])[1 + (i * 7) % 40] AS fn,
    (ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
           'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Taylor','Moore','Jackson','Martin','Lee',
           'Sharma','Patel','Gupta','Singh','Tanaka','Suzuki','Watanabe','Sato','Müller','Schmidt',
           'Schneider','Dubois','Lefèvre','Rossi','Silva','Santos','Nguyen','Kim','Chen','O''Brien'])[1 + (i * 13) % 40] AS ln,
    (ARRAY['example.com','mail.example.org','corp-mail.io','hq.tyrelltech.ne.jp','example.co.uk',
           'posteo.example.de','example.fr','example.com.br','example.in','sub.mail.example.museum'])[1 + (i * 3) % 10] AS dom,
    CASE i % 10
      WHEN 0 THEN format('+1 (%s) %s-%s', 200 + i % 800, 200 + (i / 7) % 800, lpad(((i * 37) % 10000)::text, 4, '0'))
      WHEN 1 THEN format('%s-%s-%s', 200 + (i / 3) % 800, 200 + (i / 11) % 800, lpad(((i * 41) % 10000)::text, 4, '0'))
      WHEN 2 THEN format('+44 20 %s %s', 7000 + i % 3000, lpad(((i * 43) % 10000)::text, 4, '0'))
      WHEN 3 THEN format('090-%s-%s', 1000 + i % 9000, lpad(((i * 47) % 10000)::text, 4, '0'))
      WHEN 4 THEN format('+49 30 %s', 10000000 + (i * 53) % 89999999)
      WHEN 5 THEN format('+33 6 %s %s %s %s', 10 + i % 90, 10 + (i / 3) % 90, 10 + (i / 7) % 90, 10 + (i / 13) % 90)
      WHEN 6 THEN format('+91 %s %s', 90000 + i % 9999, 10000 + (i * 59) % 89999)
      WHEN 7 THEN format('(11) 9%s-%s', 1000 + i % 9000, lpad(((i * 61) % 10000)::text, 4, '0'))
      WHEN 8 THEN format('+61 2 %s %s', 9000 + i % 999, 1000 + (i * 67) % 8999)
      ELSE format('%s.%s.%s', 200 + (i / 5) % 800, 200 + (i / 9) % 800, lpad(((i * 71) % 10000)::text, 4, '0'))
    END AS ph
  FROM generate_series(1::bigint, :rows) AS i
) s;
VACUUM ANALYZE t;
SQL
t1=$(date +%s.%N)
echo "    $(python3 -c "print(f'{$t1 - $t0:.1f}')") s" >&2

copy_sql='\copy (select * from t) to stdout csv'
csv_bytes=$(psql "$url" -qAt -c "$copy_sql" | wc -c)
table_size=$(psql "$url" -qAt -c "select pg_size_pretty(pg_total_relation_size('t'))")
pg_version=$(psql "$url" -qAt -c "show server_version")
echo "    CSV $(( csv_bytes / 1000000 )) MB, table $table_size, PostgreSQL $pg_version" >&2

# ---- commands ---------------------------------------------------------------------------------------
out="$tmp/out"
declare -A label=([a]="psql \\copy csv | pigz -p 2 -6" [b]="mask extract --table t" [c]="psql \\copy csv > /dev/null")
declare -A script=(
  [a]='psql "$url" -qAt -c "$copy_sql" | pigz -p 2 -6 > /dev/null'
  [b]='"$mask" extract --from "$url" --table t --rules "$rules" --output "$out" --overwrite -q $thread_args'
  [c]='psql "$url" -qAt -c "$copy_sql" > /dev/null'
)
keys=(a b c)
export url copy_sql mask rules out
export thread_args="${threads:+--threads $threads}"

measure() {  # key: runs the command once under GNU time, appends "elapsed cpu rss_kb" to $tmp/times.<key>
  local key="$1"
  rm -rf "$out"   # untimed: each mask run writes a fresh folder (--overwrite is passed too)
  if ! /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" bash -o pipefail -c "${script[$key]}" 2>"$tmp/stderr.$key"; then
    echo "run.sh: command ($key) failed:" >&2; tail -20 "$tmp/stderr.$key" >&2; exit 1
  fi
  tail -1 "$tmp/time" | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' >> "$tmp/times.$key"
}
# GNU time's %e has 10 ms resolution; fine at these durations. Its CPU covers the client processes
# (psql, pigz, mask), not the PostgreSQL backend that runs the COPY.
[[ -x /usr/bin/time ]] || { echo "run.sh: GNU time (/usr/bin/time) is missing: apt-get install time" >&2; exit 1; }

echo "==> warm-up" >&2
extract_records="?"; masked_bytes=0
for key in "${keys[@]}"; do
  measure "$key"
  if [[ $key == b ]]; then   # what mask wrote, before the next command removes the folder
    ls "$out" > "$tmp/extract.ls"
    extract_records=$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(int(t.get('records', 0)) for t in d['tables']))" "$out/_extract.json" 2>/dev/null || echo "?")
    masked_bytes=$(find "$out" -name 'part-*.csv.gz' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    [[ -f "$out/_SUCCESS" ]] || { echo "run.sh: mask extract wrote no _SUCCESS" >&2; exit 1; }
  fi
done
echo "    mask extract: $extract_records records, $(( masked_bytes / 1000000 )) MB gzip" >&2
rm -f "$tmp"/times.*

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq 1 "$runs"); do
  echo "==> run $run/$runs" >&2
  for key in "${keys[@]}"; do
    measure "$key"
    echo "    ${label[$key]}: $(tail -1 "$tmp/times.$key" | cut -d' ' -f1) s" >&2
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------------
mask_cmd="mask extract --from \"\$URL\" --table t --rules ${rules#"$root/"} --output \$tmp/out --overwrite -q${threads:+ --threads $threads}"
table=$(python3 - "$tmp" "$csv_bytes" "$mask_cmd" <<'PY'
import statistics, sys
tmp, csv_bytes, mask_cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
commands = [
    ("a", '`psql "$URL" -c "\\copy (select * from t) to stdout csv" | pigz -p 2 -6 > /dev/null`'),
    ("b", "`" + mask_cmd + "`"),
    ("c", '`psql "$URL" -c "\\copy (select * from t) to stdout csv" > /dev/null` (read limit)'),
]
rows = {}
for key, _ in commands:
    with open(f"{tmp}/times.{key}") as f:
        rows[key] = [tuple(float(x) for x in line.split()) for line in f if line.strip()]
med_a = statistics.median(r[0] for r in rows["a"])
# (a)'s pipe is escaped as \| so that it does not end the table cell.
print("| | Command | Median s | Min s | Max s | MB/s | vs (a) | client CPU s | client peak RSS MB |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
for key, label in commands:
    wall = [r[0] for r in rows[key]]
    med = statistics.median(wall)
    cpu = statistics.median(r[1] for r in rows[key])
    rss = statistics.median(r[2] for r in rows[key]) / 1024
    print(f"| ({key}) | {label} | {med:.2f} | {min(wall):.2f} | {max(wall):.2f} | {csv_bytes / 1e6 / med:.0f} | "
          f"{med_a / med:.2f}× | {cpu:.2f} | {rss:.1f} |".replace(" | pigz", " \\| pigz"))
PY
)

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -sr)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (+ uncommitted changes)" || true)
mask_sha=$(sha256sum "$mask" | cut -c1-12)
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
report=$(cat <<EOF
# mask extract vs psql \\copy: latest run

Run of $when (\`bash benchmarks/extract/run.sh --rows $rows --runs $runs\`, git $commit$dirty, binary
\`$mask\` sha256 $mask_sha).

- Machine: $(nproc) cores ($cpu_model), $mem, $os.
- PostgreSQL $pg_version, throwaway local cluster on 127.0.0.1 (fsync=off, shared_buffers=256MB), TCP, trust auth.
- Table \`t\`: $rows rows (id, full_name, email, phone, created_at, amount, note; NULLs and empty strings),
  $table_size on disk; its CSV (\`\\copy … csv\`, no header) is $csv_bytes bytes ($(( csv_bytes / 1000000 )) MB).
- Rules: \`${rules#"$root/"}\`; mask wrote $extract_records records, $(( ${masked_bytes:-0} / 1000000 )) MB of gzip (level 6).
- One untimed warm-up of each command, then $runs round-robin runs; MB/s = CSV bytes / 10⁶ / median s;
  "vs (a)" = median of (a) / median of the command (above 1 is faster). CPU and RSS are the client
  processes' (psql, pigz, mask), not the PostgreSQL backend's. The target is (b) ≥ 0.80× (a).
- Load average (1, 5, 15 min) before the timed runs: $load_before; after: $load_after (other work on
  the machine skews wall times; CPU seconds much less).

$table
EOF
)
echo "$report"
mkdir -p "$root/benchmarks/results"
echo "$report" > "$root/benchmarks/results/extract-latest.md"
echo "==> wrote benchmarks/results/extract-latest.md" >&2
