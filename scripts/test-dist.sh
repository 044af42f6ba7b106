#!/usr/bin/env bash
# The release test: builds dist/ (scripts/dist.sh), installs the Debian package with apt, and runs
# /usr/bin/mask with the Swift toolchain out of reach (an empty environment: not on PATH, no
# LD_LIBRARY_PATH; no RUNPATH in the binary, and ldd resolving nothing inside the toolchain), on
# the bundled example and on `mask verify` with the packaged rules.
# Also checks the tarball's checksum and that its binary runs from another folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dist.sh
deb=$(ls dist/mask_*.deb)
tarball=$(ls dist/mask-*-linux-*.tar.gz)
(cd dist && sha256sum -c "$(basename "$tarball").sha256" >/dev/null)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null

fail() { echo "test-dist: $*" >&2; exit 1; }
needs=$(readelf -d /usr/bin/mask | grep -E 'libswift|libFoundation|libdispatch|R(UN)?PATH' | grep -v 'runpath: \[\$ORIGIN\]' || true)
[ -z "$needs" ] || fail "/usr/bin/mask needs the toolchain: $needs"
# Every library the loader resolves must come from the system, none from the toolchain.
toolchain=$(readlink -f "$(dirname "$(readlink -f "$(command -v swift)")")/../..")
outside=$(env -i /usr/bin/ldd /usr/bin/mask | grep -e "not found" -e "$toolchain" || true)
[ -z "$outside" ] || fail "/usr/bin/mask resolves libraries outside the system: $outside"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
clean_env=(env -i PATH=/usr/bin:/bin HOME="$work" MASK_HMAC_KEY=release-test-key-0123456789)
"${clean_env[@]}" /usr/bin/mask --version
"${clean_env[@]}" /usr/bin/mask --rules /usr/share/mask/rules/pii-strict.yaml --input "$OLDPWD/examples/customers.csv" --output out --quiet
[ -f out/_SUCCESS ] || fail "no _SUCCESS from the packaged binary"
# mask verify finds the packaged strict rules beside /usr/bin (../share/mask/rules), and the
# example masked with them verifies clean (the README's recipe).
verified=$("${clean_env[@]}" /usr/bin/mask verify out/part-00000.csv.gz) || fail "mask verify failed: $verified"
echo "$verified" | grep -q "60 records checked, 0 finding" || fail "mask verify did not read the masked example: $verified"
# The tarball's binary, run from its own folder layout.
tar -xzf "$OLDPWD/$tarball"
verified=$("${clean_env[@]}" ./mask-*/bin/mask verify out/part-00000.csv.gz) || fail "the tarball's binary failed: $verified"
echo "$verified" | grep -q "60 records checked" || fail "the tarball's binary did not find its rules: $verified"
echo "test-dist: the package and the tarball run without the Swift toolchain"
