#!/usr/bin/env bash
# Builds the self-contained release: dist/mask-VERSION-linux-ARCH.tar.gz (+ .sha256) and
# dist/mask_VERSION_DEBARCH.deb. The Swift standard library, Foundation and Dispatch are linked
# statically (--static-swift-stdlib), so neither needs a Swift toolchain where it runs; what stays
# dynamic are Debian's system libraries, which the package declares as Depends (read from the
# binary's DT_NEEDED entries and mapped to the packages that ship them, so the list cannot drift).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

version=$(sed -n 's/.*public static let current = "\(.*\)".*/\1/p' Sources/MaskPipeline/MaskJob.swift)
arch=$(uname -m)
debarch=$(dpkg --print-architecture)
swift build -c release --product mask --static-swift-stdlib
binary="$(swift build -c release --show-bin-path)/mask"

rm -rf dist && mkdir -p dist
stage="dist/mask-$version-linux-$arch"
install -D -m 0755 "$binary" "$stage/bin/mask"
strip --strip-unneeded "$stage/bin/mask"
install -D -m 0644 -t "$stage/share/mask/rules" rules/*.yaml
install -D -m 0644 -t "$stage/share/mask/schemas" schemas/*.schema.json
install -D -m 0644 README.md "$stage/share/doc/mask/README.md"
install -D -m 0644 NOTICE "$stage/share/doc/mask/NOTICE"
# The licences of what is linked into the binary (NOTICE says which is which).
licences="$stage/share/doc/mask/licences"
mkdir -p "$licences"
cp /opt/swift/usr/share/swift/LICENSE.txt "$licences/swift-runtime.txt" 2>/dev/null \
    || cp "$(dirname "$(readlink -f "$(command -v swift)")")/../share/swift/LICENSE.txt" "$licences/swift-runtime.txt"
cp .build/checkouts/swift-argument-parser/LICENSE.txt "$licences/swift-argument-parser.txt"
cp .build/checkouts/swift-crypto/LICENSE.txt "$licences/swift-crypto.txt"
cp .build/checkouts/swift-crypto/NOTICE.txt "$licences/swift-crypto-NOTICE.txt"
cp .build/checkouts/swift-asn1/LICENSE.txt "$licences/swift-asn1.txt"
cp .build/checkouts/Yams/LICENSE "$licences/Yams.txt"
cp scripts/phone-plan/LICENSE-libphonenumber.txt "$licences/libphonenumber.txt"

# Nothing of the toolchain may be needed at run time: no libswift*.so, and no RUNPATH but the
# linker's default `$ORIGIN` (the binary's own folder, which holds nothing else).
needs=$(readelf -d "$stage/bin/mask" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|R(UN)?PATH' | grep -v 'runpath: \[\$ORIGIN\]' || true)
if [ -n "$needs" ]; then
    readelf -d "$stage/bin/mask" >&2
    echo "dist: the binary still needs the Swift toolchain at run time" >&2
    exit 1
fi

tar -C dist -czf "dist/mask-$version-linux-$arch.tar.gz" "mask-$version-linux-$arch"
(cd dist && sha256sum "mask-$version-linux-$arch.tar.gz" > "mask-$version-linux-$arch.tar.gz.sha256")

# The Debian package: the same files under /usr, Depends from the binary's DT_NEEDED.
deb="dist/deb"
install -D -m 0755 "$stage/bin/mask" "$deb/usr/bin/mask"
install -D -m 0644 -t "$deb/usr/share/mask/rules" rules/*.yaml
install -D -m 0644 -t "$deb/usr/share/mask/schemas" schemas/*.schema.json
mkdir -p "$deb/usr/share/doc/mask"
cp -r "$stage/share/doc/mask/." "$deb/usr/share/doc/mask/"
depends=()
for library in $(readelf -d "$stage/bin/mask" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    # (Whole outputs are read: an early exit would SIGPIPE the producer under pipefail.)
    path=$(ldconfig -p | awk -v lib="$library" '$1 == lib && /x86-64|AArch64|64bit/ && !found { found = $NF } END { print found }')
    [ -n "$path" ] || { echo "dist: $library not found by ldconfig" >&2; exit 1; }
    package=$( { dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path"; } | awk -F: 'NR == 1 { print $1 }')
    depends+=("$package")
done
depends_line=$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')
mkdir -p "$deb/DEBIAN"
cat > "$deb/DEBIAN/control" <<CONTROL
Package: mask
Version: $version
Section: utils
Priority: optional
Architecture: $debarch
Maintainer: mask developers <mask@localhost>
Depends: $depends_line
Installed-Size: $(du -sk "$deb/usr" | cut -f1)
Description: streaming masking stage for CSV and JSONL extracts
 Masks personal data (emails, phone numbers, ...) between extract and load:
 keyed hashes, redaction and detection in free text, gzip-compressed staged
 parts with a manifest and _SUCCESS. Rules in /usr/share/mask/rules.
CONTROL
dpkg-deb --root-owner-group --build "$deb" "dist/mask_${version}_${debarch}.deb" >/dev/null
rm -rf "$deb"
(cd dist && sha256sum "mask_${version}_${debarch}.deb" > "mask_${version}_${debarch}.deb.sha256")
echo "dist: $(ls dist/*.tar.gz dist/*.deb | tr '\n' ' ')"
echo "dist: Depends: $depends_line"
