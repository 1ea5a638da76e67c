#!/usr/bin/env bash
# Set up a fresh Debian build host: the system tools the pipeline drives (Packer, QEMU,
# mmdebstrap, ...) and the test tools (shellcheck, shfmt, bats; docker-registry and skopeo for the
# OCI image tests: a real registry on 127.0.0.1), then the npm dependencies
# and the compiled CLI. Safe to re-run: installed packages are skipped.
set -euo pipefail

readonly APT_PACKAGES=(
  packer qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64
  mmdebstrap e2fsprogs fdisk dosfstools grub-pc-bin util-linux
  genisoimage socat curl jq openssh-client
  shellcheck shfmt bats
  docker-registry skopeo
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

main() {
  cd "$(dirname "$0")/.."
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-host: run as root (apt-get install, loop devices for the base image)" >&2
    exit 2
  fi
  install_apt_packages
  log "npm ci"
  npm ci --no-audit --no-fund
  log "building the CLI"
  npm run build
  log "ready: ./bin/podplane-images.js --help"
}

main "$@"
