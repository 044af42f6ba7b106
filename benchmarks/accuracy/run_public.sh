#!/usr/bin/env bash
# Build the public evaluation sets and score a mask binary on them (issue 15, item 5).
#
#   benchmarks/accuracy/run_public.sh                      # .build/release/mask, rules/pii.yaml
#   MASK_BIN=/tmp/mask-before RULES=rules/pii.yaml benchmarks/accuracy/run_public.sh
#
# Environment: MASK_BIN (default REPO/.build/release/mask), RULES (default REPO/rules/pii.yaml),
# OUT (scratch dir for the sets and results, default /tmp/accuracy-public), VENV (a virtualenv
# outside the repository, default /tmp/acc-venv, made if missing), REGIONS (national-format
# regions, default: `regions:` of the phone detector in RULES, else US,CA,GB,JP,DE,FR,IN,AU,BR),
# PHONENUMBERS_VERSION (pinned so the numbers are comparable between runs), ACCURACY_DIR
# (default /work/shared/accuracy). Extra arguments go to run_public.py.
# Go's net/mail test addresses are included when the Debian package golang-*-src is installed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MASK_BIN="${MASK_BIN:-$REPO/.build/release/mask}"
RULES="${RULES:-$REPO/rules/pii.yaml}"
OUT="${OUT:-/tmp/accuracy-public}"
VENV="${VENV:-/tmp/acc-venv}"
PHONENUMBERS_VERSION="${PHONENUMBERS_VERSION:-9.0.43}"

[ -x "$MASK_BIN" ] || { echo "no mask binary at $MASK_BIN (swift build -c release --product mask)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "import phonenumbers, yaml, sys; sys.exit(phonenumbers.__version__ != '$PHONENUMBERS_VERSION')" 2>/dev/null; then
  "$VENV/bin/pip" install -q "phonenumbers==$PHONENUMBERS_VERSION" pyyaml
fi
mkdir -p "$OUT"
"$VENV/bin/python" "$HERE/public_sets.py" "$OUT" --rules "$RULES" --sources "$OUT/_sources" \
  ${REGIONS:+--regions "$REGIONS"} > "$OUT/build.log"
"$VENV/bin/python" "$HERE/run_public.py" --sets "$OUT" --mask-bin "$MASK_BIN" --rules "$RULES" "$@"
