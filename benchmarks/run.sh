#!/usr/bin/env bash
# One-command benchmark of mask against cat / gzip / pigz and a Python stdlib masker.
#
#   bash benchmarks/run.sh [--rows N] [--runs 3] [--only csv|jsonl] [--skip-python] [--no-build]
#
# Builds the release binary (unless --no-build), generates/reuses the input files in
# benchmarks/data/, measures, prints a Markdown table on stdout and writes
# benchmarks/results/<timestamp>.csv and benchmarks/results/latest.md.
# MASK_BIN=/path/to/mask overrides the binary (default .build/release/mask).
# Every other option is passed to bench.py (python3 benchmarks/bench.py --help).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h|--help)
      sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      echo
      python3 "$here/bench.py" --help
      exit 0 ;;
    *) args+=("$a") ;;
  esac
done

for tool in python3 pigz gzip; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: $tool is required (apt-get install $tool)" >&2
    exit 1
  fi
done

cd "$root"
if [[ $build -eq 1 ]]; then
  echo "==> swift build -c release --product mask" >&2
  swift build -c release --product mask >&2
fi

exec python3 "$here/bench.py" ${args[@]+"${args[@]}"}
