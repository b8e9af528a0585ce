#!/usr/bin/env bash
# Install openras and its test peers on a fresh Debian 12 machine. Run as root; safe to re-run.
#
#   bash scripts/install.sh            runtime needs + test peers, .venv with openras[test] (CI)
#   bash scripts/install.sh --runtime  runtime needs only (FUSE, iproute2, charon, openvpn),
#                                      .venv with openras alone: no test servers, no test tools
#
# Installs the system packages the runtime and the real test peers need (tests/peers/,
# /work/shared/peers.md), then the project into .venv. It starts nothing: services the
# packages ship (ssh, smbd, openvpn, strongswan) stay stopped; tests run their own instances by PID.
set -euo pipefail

trap 'echo "install.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

cd "$(dirname "$0")/.."

MODE=all
case "${1:-}" in
    "") ;;
    --runtime) MODE=runtime ;;
    *) echo "usage: install.sh [--runtime]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (apt-get, and the tests need root for namespaces)" >&2
    exit 1
fi

PACKAGES=(
    # Python: Debian's interpreter for the venv, headers and a compiler for the PPP data path's
    # C framing (src/openras/ppp/_hdlc.c) and for wheels without binaries
    python3 python3-venv python3-dev gcc
    # Real test peers: SSH/SFTP, PPP (slirp behind socat), SMB, VPN
    openssh-server openssh-client slirp socat samba smbclient openvpn
    # IKEv2: strongSwan's charon (the daemon runs its own; ESP in user space via kernel-libipsec),
    # swanctl and pki for the test server
    strongswan-charon libcharon-extra-plugins strongswan-swanctl strongswan-pki
    # Runtime: FUSE mounts, network namespaces and links, process tools, the store, PKI for tests
    fuse3 libfuse3-3 iproute2 util-linux procps psmisc sqlite3 openssl
    # Clients the tests and the demo use through the links (curl --socks5)
    curl ca-certificates
    # systemd-socket-activate and systemd-analyze (socket activation and unit tests), promtool
    # (checks the shipped alerting rules)
    systemd prometheus
    # The dashboard's tests drive Debian's chromium headless (Playwright, no browser download)
    chromium
)

# What a machine that only runs openras needs (the daemon dials IKEv2 through charon and
# OpenVPN through openvpn; SSH and SFTP are asyncssh, SMB is smbprotocol: no system packages;
# gcc and python3-dev build the PPP data path's C framing).
RUNTIME_PACKAGES=(
    python3 python3-venv python3-dev gcc fuse3 libfuse3-3 iproute2 util-linux procps
    strongswan-charon libcharon-extra-plugins openvpn ca-certificates
)
if [ "$MODE" = runtime ]; then
    PACKAGES=("${RUNTIME_PACKAGES[@]}")
fi

export DEBIAN_FRONTEND=noninteractive

# Package scripts would start ssh/smbd/openvpn/strongswan through invoke-rc.d on a machine without
# systemd. A policy-rc.d that answers 101 ("action forbidden") stops that. Keep an existing one.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# openras install.sh: start no services while installing\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >/dev/null
fi

# The packages create sshd's privilege separation user; the test fixture (not this script)
# makes /run/sshd inside its private mount namespace.
if [ "$MODE" = all ] && ! id sshd >/dev/null 2>&1; then
    echo "install.sh: user 'sshd' is missing after installing openssh-server" >&2
    exit 1
fi
PEERS=(/usr/sbin/sshd /usr/bin/slirp-fullbolt /usr/bin/socat /usr/sbin/smbd /usr/sbin/openvpn
    /usr/lib/ipsec/charon /usr/sbin/swanctl /usr/bin/pki)
[ "$MODE" = all ] || PEERS=(/usr/sbin/openvpn /usr/lib/ipsec/charon)
for prog in "${PEERS[@]}"; do
    [ -x "$prog" ] || { echo "install.sh: $prog is missing" >&2; exit 1; }
done

# The venv is built on Debian's /usr/bin/python3 (not a python under /root or another
# user's home) so that other uids can run .venv/bin/python in the multi-user tests.
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || [ "$(readlink -f .venv/bin/python)" != "$(readlink -f /usr/bin/python3)" ]; then
    rm -rf .venv
    /usr/bin/python3 -m venv .venv
fi
if [ "$MODE" = runtime ]; then
    .venv/bin/python -m pip install -qq --disable-pip-version-check .
else
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e '.[test]'
fi
# The C framing is optional to pip (a package built without a compiler frames in Python, at a
# quarter of the speed); here it must have been built.
if ! .venv/bin/python -c 'import openras.ppp._hdlc' 2>/dev/null; then
    echo "install.sh: the PPP C framing (src/openras/ppp/_hdlc.c) did not build" >&2
    exit 1
fi

echo "install.sh: ok ($(.venv/bin/python --version), $(.venv/bin/pip --version | cut -d' ' -f1-2))"
