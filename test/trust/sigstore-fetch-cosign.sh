#!/usr/bin/env bash
# sigstore-fetch-cosign.sh [CACHE_DIR]: unpacks Debian unstable's `cosign` package (a static Go
# binary) into CACHE_DIR/cosign so the Sigstore tests can use the real cosign as an oracle. Nothing
# is installed on this host: apt runs with a private sources list, state and cache and only
# downloads; dpkg-deb -x unpacks. Default CACHE_DIR: $PODPLANE_FIXTURE_CACHE or
# ~/.cache/podplane-images-fixtures. Prints the binary's path; makes no request when it is there.
set -euo pipefail

# shellcheck source=test/fixtures/private-apt.sh
source "${BASH_SOURCE[0]%/*}/../fixtures/private-apt.sh"

log() { printf 'sigstore-fetch-cosign: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

main() {
  local cache=${1:-${PODPLANE_FIXTURE_CACHE:-$HOME/.cache/podplane-images-fixtures}}
  local dest="$cache/cosign" bin
  bin="$dest/usr/bin/cosign"
  if [[ -x "$bin" ]]; then
    printf '%s\n' "$bin"
    return 0
  fi
  private_apt_open "$(dpkg --print-architecture)"
  (cd "$PRIVATE_APT_DIR/debs" && apt_private download cosign) >&2 || die "apt-get download cosign failed"
  local deb
  deb=$(find "$PRIVATE_APT_DIR/debs" -name 'cosign_*.deb' -print -quit)
  [[ -n "$deb" ]] || die "no cosign .deb was downloaded"
  mkdir -p "$dest.tmp"
  dpkg-deb -x "$deb" "$dest.tmp"
  [[ -x "$dest.tmp/usr/bin/cosign" ]] || die "$deb holds no usr/bin/cosign"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  log "unpacked $(basename "$deb") into $dest"
  printf '%s\n' "$bin"
}

main "$@"
