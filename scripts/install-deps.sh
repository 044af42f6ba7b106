#!/usr/bin/env bash
# Installs the system libraries mask links against, if missing (Debian/Ubuntu).
# libpcre2-dev, libdeflate-dev, libisal-dev and libmariadb-dev are not on a fresh machine; libpq-dev usually is.
set -euo pipefail
packages=(libpcre2-dev libdeflate-dev libisal-dev libzstd-dev zlib1g-dev libcurl4-openssl-dev libpq-dev libmariadb-dev pkg-config ${EXTRA_APT_PACKAGES:-})
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
