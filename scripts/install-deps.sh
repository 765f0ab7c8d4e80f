#!/usr/bin/env bash
# Installs every Debian 12 package needed to build, run and test the suite.
# Idempotent: packages already present are skipped, and nothing is done when all are there.
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config git
    # protocol
    protobuf-c-compiler libprotobuf-c-dev
    # base library and daemons
    libhiredis-dev default-libmysqlclient-dev libssl-dev uuid-dev liblog4c-dev
    libhttp-parser-dev libjansson-dev libcurl4-openssl-dev
    # msfs thumbnails
    libvips-dev
    # tests
    libcmocka-dev python3-h2 python3-cryptography
    # the local stack (started as plain processes, never as system services)
    mariadb-server mariadb-client redis-server redis-tools
    # scripts
    procps iproute2 curl ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Never let package installation start the system services: the suite runs its own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
