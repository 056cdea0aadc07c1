#!/usr/bin/env bash
# Provision the non-Python test services for flystore on a fresh machine.
#
# Idempotent: every step checks first and does nothing when its tool is there.
#   * npm: Azurite (pinned in package.json / package-lock.json) into
#     node_modules/, via `npm ci` (or `npm install` when there is no lock file),
#     only when node_modules/.bin/azurite-blob is missing or broken.
#   * apt: Debian packages listed in APT_NEEDS, each installed only when its
#     command is missing; `apt-get update` runs at most once. By default
#     Node.js and npm (for Azurite) and redis-server (cache tests), only where missing.
#
# Python packages are NOT installed here (the Makefile does that with pip).
# Works as root without sudo (uses sudo only when not root and it exists).
# Exits non-zero with a message on the first failure.
#
# Usage: scripts/provision.sh
# Environment:
#   FLYSTORE_APT_NEEDS  extra "command:package" pairs, space separated,
#                       e.g. FLYSTORE_APT_NEEDS="redis-server:redis-server"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# "command:debian-package" pairs. A package is installed only when its command
# cannot be found. Future needs, kept disabled until a test uses them:
#   APT_NEEDS+=("sshd:openssh-server")         # OpenSSH as a second SFTP target
# Node.js and npm run Azurite; most machines have them, a bare one gets Debian's.
APT_NEEDS=("node:nodejs" "npm:npm" "redis-server:redis-server" "clamd:clamav-daemon")
# rclone is the sync benchmark's reference (benchmarks/bench_sync.py).
APT_NEEDS+=("rclone:rclone")
# The compressed disk's tests read its stored files with the zstd and gzip command lines.
APT_NEEDS+=("zstd:zstd" "gzip:gzip")
# flystore serve's browser tests: Debian's chromium, driven by the playwright package (no browser download).
APT_NEEDS+=("chromium:chromium")
if [[ -n "${FLYSTORE_APT_NEEDS:-}" ]]; then
    read -r -a _extra <<<"${FLYSTORE_APT_NEEDS}"
    APT_NEEDS+=("${_extra[@]}")
fi

log() { printf 'provision: %s\n' "$*"; }
die() {
    printf 'provision: ERROR: %s\n' "$*" >&2
    exit 1
}
trap 'die "command failed (exit $?) at line ${LINENO}: ${BASH_COMMAND}"' ERR

# ---------------------------------------------------------------- npm / Azurite
provision_npm() {
    local bin="${ROOT}/node_modules/.bin/azurite-blob"
    if [[ -x "${bin}" && -e "$(readlink -f "${bin}")" ]]; then
        log "Azurite already installed ($(node -p 'require(process.argv[1]).version' \
            "${ROOT}/node_modules/azurite/package.json" 2>/dev/null || echo '?'))"
        return 0
    fi
    command -v node >/dev/null 2>&1 || die "node is not installed; install Node.js (>= 18) first"
    command -v npm >/dev/null 2>&1 || die "npm is not installed; install npm first"
    [[ -f "${ROOT}/package.json" ]] || die "${ROOT}/package.json is missing"
    (
        cd "${ROOT}"
        if [[ -f package-lock.json ]]; then
            log "installing Azurite with npm ci"
            npm ci --no-audit --no-fund
        else
            log "no package-lock.json: installing Azurite with npm install"
            npm install --no-audit --no-fund
        fi
    ) || die "npm could not install Azurite (see the output above)"
    [[ -x "${bin}" ]] || die "npm finished but ${bin} is still missing"
    log "Azurite installed"
}

# ---------------------------------------------------------------- apt
have_command() {
    # sbin directories are not on a normal user's PATH, but sshd lives there.
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]
}

provision_apt() {
    local missing=() pair cmd pkg
    for pair in "${APT_NEEDS[@]+"${APT_NEEDS[@]}"}"; do
        [[ "${pair}" == *:* ]] || die "APT_NEEDS entry '${pair}' is not command:package"
        cmd="${pair%%:*}"
        pkg="${pair#*:}"
        if have_command "${cmd}"; then
            log "${cmd} present"
        else
            missing+=("${pkg}")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "no Debian packages to install"
        return 0
    fi

    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"

    log "apt-get update"
    "${sudo[@]+"${sudo[@]}"}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || die "apt-get update failed"
    log "installing ${missing[*]}"
    "${sudo[@]+"${sudo[@]}"}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install failed for: ${missing[*]}"
}

provision_apt
provision_npm
log "done"
