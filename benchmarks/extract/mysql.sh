#!/usr/bin/env bash
# mask extract from MySQL/MariaDB against the mariadb client from the same 1M-row table (issue 14):
#
#   (a) mariadb --batch -e 'select * from t' | pigz -p 2 -6 > /dev/null        (the reference)
#   (b) mask extract --from mysql://… --table t --rules rules/pii.yaml --output DIR --overwrite -q
#   (c) mariadb --batch --quick -e 'select * from t' > /dev/null                (the read limit)
#
#   bash benchmarks/extract/mysql.sh [--rows 1000000] [--runs 3] [--rules FILE] [--keep]
#
# A throwaway MariaDB server (mariadb-install-db + mariadbd on a free port on 127.0.0.1 and a socket
# in a temporary folder, as root with --user=root) is started and removed on exit. The table is the
# benchmark generator's synthetic extract (`mask bench --synthetic ROWS --emit`: names, emails,
# phones of several countries, free text with both, NULLs), loaded with LOAD DATA INFILE. Every
# command runs once as an untimed warm-up, then all round-robin --runs times; the table shows median,
# min and max wall seconds and the ratio of (a)'s median to each one's (above 1 is faster than (a)).
# Results go to stdout and benchmarks/results/extract-mysql-latest.md.
#
# env MASK_BIN: binary to measure (default .build/release/mask).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows=1000000
runs=3
rules="$root/rules/pii.yaml"
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rules) rules="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mysql.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
(( runs >= 1 )) || { echo "mysql.sh: --runs must be at least 1" >&2; exit 2; }
mask="${MASK_BIN:-$root/.build/release/mask}"
[[ -x "$mask" ]] || { echo "mysql.sh: $mask not found (swift build -c release --product mask, then set MASK_BIN)" >&2; exit 1; }
for tool in mariadb mariadbd mariadb-install-db pigz python3; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] || { echo "mysql.sh: $tool is missing (apt-get install mariadb-server mariadb-client pigz)" >&2; exit 1; }
done
export MASK_HMAC_KEY="benchmark-key-not-for-production-0123456789"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

tmp="$(mktemp -d /tmp/mask-mysql-bench.XXXXXX)"
chmod 755 "$tmp"
mkdir -p "$tmp/files"
chmod 777 "$tmp/files"
user=()
[[ $(id -u) -eq 0 ]] && user=(--user=root)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if (( keep )); then echo "mysql.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> mariadb-install-db in $tmp" >&2
mariadb-install-db --no-defaults --datadir="$tmp/data" --auth-root-authentication-method=normal --skip-test-db "${user[@]}" \
  >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; exit 1; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
/usr/sbin/mariadbd --no-defaults --datadir="$tmp/data" --socket="$tmp/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
  --pid-file="$tmp/mysqld.pid" --secure-file-priv="$tmp/files" --skip-log-bin --innodb-buffer-pool-size=1G \
  --innodb-flush-log-at-trx-commit=0 --character-set-server=utf8mb4 "${user[@]}" >"$tmp/server.log" 2>&1 &
server_pid=$!
client=(mariadb --no-defaults --socket="$tmp/mysqld.sock" -uroot --default-character-set=utf8mb4)
for _ in $(seq 1 100); do "${client[@]}" -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
"${client[@]}" -e "SELECT 1" >/dev/null || { tail -20 "$tmp/server.log" >&2; exit 1; }
password="bench-pw-$$"
"${client[@]}" -e "CREATE DATABASE bench CHARACTER SET utf8mb4;
  CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT SELECT ON bench.* TO 'bench'@'127.0.0.1';"

echo "==> loading $rows synthetic rows" >&2
"$mask" bench --synthetic "$rows" --emit "$tmp/files/t.csv"
chmod 644 "$tmp/files/t.csv"
"${client[@]}" bench -e "CREATE TABLE t (id bigint PRIMARY KEY, created_at varchar(40), full_name varchar(200), email varchar(200),
    phone varchar(60), amount decimal(12,2), currency char(3), country char(2), user_agent text, notes text) ENGINE=InnoDB;
  LOAD DATA INFILE '$tmp/files/t.csv' INTO TABLE t CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''
    LINES TERMINATED BY '\n' IGNORE 1 LINES;
  ANALYZE TABLE t;" >/dev/null
bytes=$(stat -c %s "$tmp/files/t.csv")
rm -f "$tmp/files/t.csv"
url="mysql://bench@127.0.0.1:$port/bench"
server_version="$("${client[@]}" -N -e 'SELECT VERSION()')"
export MYSQL_PWD="$password"

reference() { mariadb --no-defaults -h127.0.0.1 -P"$port" -ubench --default-character-set=utf8mb4 --batch bench -e 'select * from t' | pigz -p 2 -6 > /dev/null; }
masked() { "$mask" extract --from "$url" --table t --rules "$rules" --output "$tmp/out" --overwrite -q; }
readonly_() { mariadb --no-defaults -h127.0.0.1 -P"$port" -ubench --default-character-set=utf8mb4 --batch --quick bench -e 'select * from t' > /dev/null; }
names=(reference masked readonly_)
labels=("(a) mariadb --batch \\| pigz -p 2 -6" "(b) mask extract --from mysql:// (rules/$(basename "$rules"))" "(c) mariadb --batch --quick > /dev/null")

declare -A times
for name in "${names[@]}"; do "$name"; done   # warm-up (buffer pool, page cache)
for run in $(seq 1 "$runs"); do
  for name in "${names[@]}"; do
    start=$(date +%s.%N); "$name"; end=$(date +%s.%N)
    times[$name]+="$(python3 -c "print($end - $start)") "
  done
done
records=$(zcat "$tmp/out/bench.t/"part-*.csv.gz | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')
[[ "$records" == "$rows" ]] || { echo "mysql.sh: mask wrote $records records, expected $rows" >&2; exit 1; }

report="$root/benchmarks/results/extract-mysql-latest.md"
{
  echo "# mask extract from MariaDB, $rows rows ($((bytes / 1000000)) MB as CSV), $runs runs, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| command | median s | min s | max s | ratio vs (a) |"
  echo "|---|---|---|---|---|"
  ref_median=$(python3 -c "import statistics; print(statistics.median([float(x) for x in '${times[reference]}'.split()]))")
  for i in "${!names[@]}"; do
    name="${names[$i]}"
    python3 - "${labels[$i]}" "${times[$name]}" "$ref_median" <<'PY'
import statistics, sys
label, values, ref = sys.argv[1], [float(x) for x in sys.argv[2].split()], float(sys.argv[3])
median = statistics.median(values)
print(f"| {label} | {median:.2f} | {min(values):.2f} | {max(values):.2f} | {ref / median:.2f}× |")
PY
  done
  echo
  echo "mask wrote $records records (checked). Server: $server_version, on the same machine."
} | tee "$report"
