#!/bin/sh
# Checks the harness itself: wraps the real binary so that it breaks one promise at a time and
# requires the matching oracle to report it (a harness that passes a broken binary is unsound).
#   sh fuzz/selftest.sh [path/to/mask]
set -u
cd "$(dirname "$0")/.."
REAL=$(cd "$(dirname "${1:-.build/release/mask}")" && pwd)/$(basename "${1:-.build/release/mask}")
[ -x "$REAL" ] || { echo "selftest: no binary at $REAL" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/broken" <<WRAP
#!/bin/sh
case "\$BREAK:\$*" in
  crash:*"--compress gzip"*) kill -SEGV \$\$ ;;
  hang:*"--threads 2"*"--compress none"*) sleep 30 ;;
  determinism:*"--threads 2"*"--compress none"*) "$REAL" "\$@"; rc=\$?; echo "1,extra"; exit \$rc ;;
  commit:*"--output"*) "$REAL" "\$@"; rc=\$?; rm -f R3.out/_SUCCESS; exit \$rc ;;
  verify:verify*) echo "found: something"; exit 1 ;;
  leak:*"--threads 1"*) "$REAL" "\$@"; rc=\$?; cat input.csv 2>/dev/null || cat input.jsonl 2>/dev/null; exit \$rc ;;
  exit-code:*"--report R4"*) "$REAL" "\$@" >/dev/null; exit 7 ;;
  count:*"--report R2"*) "$REAL" "\$@"; rc=\$?; sed -i 's/"records_in" : \([0-9]*\)/"records_in" : 9\1/' R2.report.json; exit \$rc ;;
esac
exec "$REAL" "\$@"
WRAP
chmod +x "$WORK/broken"
status=0
for oracle in crash hang determinism commit verify leak exit-code count; do
  out=$(BREAK=$oracle python3 fuzz/campaign.py --mask "$WORK/broken" --cases 2 --class clean --seed 1 \
        --timeout 3 --no-reduce --save 0 --jobs 2 --out "$WORK/out" 2>&1)
  if printf '%s\n' "$out" | grep -q "^FAIL .* $oracle \["; then
    echo "selftest: $oracle: detected"
  else
    echo "selftest: $oracle: NOT DETECTED"; printf '%s\n' "$out" | tail -3; status=1
  fi
done
exit $status
