#!/usr/bin/env bash
# Set up a fresh Debian build host: the system tools the pipeline drives (Packer, QEMU,
# mmdebstrap, ...) and the test tools (shellcheck, shfmt, bats; docker-registry and skopeo for the
# OCI image tests: a real registry on 127.0.0.1), then the npm dependencies
# and the compiled CLI. Safe to re-run: installed packages are skipped.
set -euo pipefail

readonly APT_PACKAGES=(
  packer qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64
  # arm64 on an amd64 host: the base's maintainer scripts run through qemu-user (binfmt_misc)
  qemu-user-static binfmt-support arch-test
  mmdebstrap e2fsprogs fdisk dosfstools mtools grub-pc-bin util-linux
  genisoimage socat curl jq openssh-client
  # pin verifies upstream's PGP signatures with gpgv (a keyring built from trust/), reads
  # Packages.xz; the tests make signing keys with gpg
  gpgv gpg gpg-agent xz-utils
  shellcheck shfmt bats
  docker-registry skopeo
  # moto's server (below) runs on the host's python3 with these, all from bookworm
  python3-flask python3-flask-cors python3-werkzeug python3-requests python3-responses
  python3-dateutil python3-jmespath python3-xmltodict python3-cryptography
)

# moto (a local EC2-compatible server for the prune tests) and the boto libraries it needs are
# newer than bookworm has: they come from trixie, downloaded with a private apt configuration
# and unpacked into MOTO_DIR (pure Python, nothing installed into the host's dpkg database).
# The tests run `PYTHONPATH=$MOTO_DIR/usr/lib/python3/dist-packages /usr/bin/python3 -m moto.server`.
readonly MOTO_SUITE=trixie
readonly MOTO_PACKAGES=(python3-moto python3-boto3 python3-botocore python3-s3transfer)
readonly MOTO_DIR=${PODPLANE_MOTO_DIR:-/opt/podplane-images-tools/moto}
readonly DEBIAN_MIRROR=${PODPLANE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

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

# The kernel starts foreign binaries (the arm64 base's maintainer scripts, grub-install) through
# binfmt_misc: mounted if it is not (containers often lack it), the qemu-aarch64 entry enabled.
readonly BINFMT_DIR=/proc/sys/fs/binfmt_misc
enable_binfmt() {
  if [[ ! -e "$BINFMT_DIR/status" ]]; then
    log "mounting binfmt_misc on $BINFMT_DIR"
    mount -t binfmt_misc binfmt_misc "$BINFMT_DIR"
  fi
  if [[ "$(uname -m)" == aarch64 ]]; then
    log "arm64 host: no qemu-aarch64 binfmt entry needed"
    return
  fi
  if ! grep -qx enabled "$BINFMT_DIR/qemu-aarch64" 2>/dev/null; then
    log "enabling the qemu-aarch64 binfmt entry"
    update-binfmts --enable qemu-aarch64
  fi
  grep -qx enabled "$BINFMT_DIR/qemu-aarch64" || {
    echo "setup-host: the qemu-aarch64 binfmt entry is still not enabled (see update-binfmts --display qemu-aarch64)" >&2
    exit 1
  }
  log "binfmt qemu-aarch64 enabled ($(sed -n 's/^interpreter //p' "$BINFMT_DIR/qemu-aarch64"))"
}

moto_works() {
  PYTHONPATH="$MOTO_DIR/usr/lib/python3/dist-packages" /usr/bin/python3 -c 'import moto.server' 2>/dev/null
}

install_moto() {
  if [[ -f "$MOTO_DIR/.packages" ]] && moto_works; then
    log "moto already in $MOTO_DIR ($(tr '\n' ' ' <"$MOTO_DIR/.packages"))"
    return
  fi
  local work started=$SECONDS
  work=$(mktemp -d)
  # A private apt state: the host's sources, lists and dpkg database are not touched.
  local apt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$DEBIAN_MIRROR" "$MOTO_SUITE" >"$work/sources.list"
  log "moto: downloading ${MOTO_PACKAGES[*]} from $MOTO_SUITE into $MOTO_DIR"
  apt-get "${apt[@]}" -qq update
  (cd "$work/debs" && apt-get "${apt[@]}" -qq download "${MOTO_PACKAGES[@]/%//$MOTO_SUITE}")
  local deb
  for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
    # shellcheck disable=SC2016 # ${Package} is dpkg's format syntax, not the shell's
    dpkg-deb --showformat='${Package}=${Version}\n' -W "$deb" >>"$work/root/.packages"
  done
  rm -rf "$MOTO_DIR"
  mkdir -p "$(dirname "$MOTO_DIR")"
  mv "$work/root" "$MOTO_DIR"
  rm -rf "$work"
  moto_works || {
    echo "setup-host: moto in $MOTO_DIR does not import with /usr/bin/python3" >&2
    exit 1
  }
  log "moto ready in $((SECONDS - started)) s: $(tr '\n' ' ' <"$MOTO_DIR/.packages")"
}

# The test fixtures' real container runtime (containerd, runc, CNI plugins) and the pause
# stand-in's busybox: Debian unstable packages, downloaded with a private apt configuration into
# the fixture cache (never installed here: unstable's runc needs a newer libc than this host's).
fetch_unstable_debs() {
  log "fetching the fixtures' runtime packages from Debian unstable (apt-get download, not installed)"
  bash test/fixtures/standins/fetch-runtime-debs.sh
  # Real cosign (the oracle for pin's Sigstore checks) and Debian's SPDX validator, the same way.
  bash test/trust/sigstore-fetch-cosign.sh
  bash test/sbom/fetch-spdx-tools.sh
}

main() {
  cd "$(dirname "$0")/.."
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-host: run as root (apt-get install, loop devices for the base image)" >&2
    exit 2
  fi
  install_apt_packages
  enable_binfmt
  install_moto
  fetch_unstable_debs
  log "npm ci"
  npm ci --no-audit --no-fund
  log "building the CLI"
  npm run build
  log "ready: ./bin/podplane-images.js --help"
}

main "$@"
