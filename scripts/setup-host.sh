#!/usr/bin/env bash
# Set up a fresh Debian build host: the system tools the pipeline drives (Packer, QEMU,
# mmdebstrap, ...) and the test tools (shellcheck, shfmt, bats), then the npm dependencies
# and the compiled CLI. Safe to re-run: installed packages are skipped.
set -euo pipefail

readonly APT_PACKAGES=(
  packer qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64
  mmdebstrap e2fsprogs fdisk dosfstools grub-pc-bin util-linux
  genisoimage socat curl jq openssh-client
  shellcheck shfmt bats
)

log() { printf 'setup-host: %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "system packages already installed"
    return
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

# The test fixtures' real container runtime (containerd, runc, CNI plugins) and the pause
# stand-in's busybox: Debian unstable packages, downloaded with a private apt configuration into
# the fixture cache (never installed here: unstable's runc needs a newer libc than this host's).
fetch_unstable_debs() {
  log "fetching the fixtures' runtime packages from Debian unstable (apt-get download, not installed)"
  bash test/fixtures/standins/fetch-runtime-debs.sh
}

main() {
  cd "$(dirname "$0")/.."
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-host: run as root (apt-get install, loop devices for the base image)" >&2
    exit 2
  fi
  install_apt_packages
  fetch_unstable_debs
  log "npm ci"
  npm ci --no-audit --no-fund
  log "building the CLI"
  npm run build
  log "ready: ./bin/podplane-images.js --help"
}

main "$@"
