#!/usr/bin/env bash
# sigstore-fetch-cosign.sh [CACHE_DIR]: unpacks Debian unstable's `cosign` package (a static Go
# binary) into CACHE_DIR/cosign so the Sigstore tests can use the real cosign as an oracle. Nothing
# is installed on this host: apt runs with a private sources list, state and cache and only
# downloads; dpkg-deb -x unpacks. Default CACHE_DIR: $PODPLANE_FIXTURE_CACHE or
# ~/.cache/podplane-images-fixtures. Prints the binary's path; makes no request when it is there.
set -euo pipefail

readonly SUITE=${PODPLANE_FIXTURE_SUITE:-unstable}
readonly ARCHIVE=${PODPLANE_FIXTURE_ARCHIVE:-http://deb.debian.org/debian}
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'sigstore-fetch-cosign: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

APT_DIR=""
apt_private() {
  apt-get -q \
    -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State=$APT_DIR/state" -o "Dir::State::Status=$APT_DIR/state/status" \
    -o "Dir::Cache=$APT_DIR/cache" -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

main() {
  local cache=${1:-${PODPLANE_FIXTURE_CACHE:-$HOME/.cache/podplane-images-fixtures}}
  local dest="$cache/cosign" bin
  bin="$dest/usr/bin/cosign"
  if [[ -x "$bin" ]]; then
    printf '%s\n' "$bin"
    return 0
  fi
  [[ -f "$KEYRING" ]] || die "$KEYRING is missing: install debian-archive-keyring"
  APT_DIR=$(mktemp -d)
  trap 'rm -rf "$APT_DIR"' EXIT
  mkdir -p "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
  : >"$APT_DIR/state/status"
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$ARCHIVE" "$SUITE" >"$APT_DIR/sources.list"
  log "apt-get update ($SUITE from $ARCHIVE, private state)"
  apt_private update >&2 || die "apt-get update of $SUITE failed (is $ARCHIVE reachable?)"
  (cd "$APT_DIR/debs" && apt_private download cosign) >&2 || die "apt-get download cosign failed"
  local deb
  deb=$(find "$APT_DIR/debs" -name 'cosign_*.deb' -print -quit)
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
