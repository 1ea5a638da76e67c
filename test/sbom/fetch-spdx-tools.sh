#!/usr/bin/env bash
# fetch-spdx-tools.sh [CACHE_DIR]: unpacks Debian's SPDX validator (python3-spdx-tools, pure
# Python, from unstable) and the Python libraries it imports into CACHE_DIR/spdx-tools, so the
# SBOM tests can run `pyspdxtools -i FILE` with the host's python3 and PYTHONPATH. Nothing is
# installed on this host: apt runs with a private sources list, state and cache (`apt-get
# download` only) and each .deb is unpacked with `dpkg-deb -x`. Default CACHE_DIR:
# $PODPLANE_FIXTURE_CACHE or ~/.cache/podplane-images-fixtures. Re-running with the tool present
# makes no request.
set -euo pipefail

readonly SUITE=${PODPLANE_FIXTURE_SUITE:-unstable}
readonly ARCHIVE=${PODPLANE_FIXTURE_ARCHIVE:-http://deb.debian.org/debian}
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The validator and every pure-Python library of its dependency tree (the host's python3 runs them).
readonly PACKAGES=(python3-spdx-tools python3-beartype python3-boolean python3-click python3-license-expression
  python3-ply python3-rdflib python3-semantic-version python3-uritools python3-xmltodict python3-yaml python3-pyparsing)

log() { printf 'fetch-spdx-tools: %s\n' "$*" >&2; }
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
    -o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

main() {
  local cache=${1:-${PODPLANE_FIXTURE_CACHE:-$HOME/.cache/podplane-images-fixtures}}
  local dest="$cache/spdx-tools"
  if [[ -f "$dest/ok" ]]; then
    log "already unpacked in $dest"
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
  log "apt-get download ${PACKAGES[*]}"
  (cd "$APT_DIR/debs" && apt_private download "${PACKAGES[@]}") >&2 || die "apt-get download failed"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  local deb
  for deb in "$APT_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
  [[ -f "$dest.tmp/usr/bin/pyspdxtools" ]] || die "python3-spdx-tools holds no /usr/bin/pyspdxtools"
  # Byte-compiled once here, so each run of the validator does not compile rdflib and the rest again.
  python3 -m compileall -q "$dest.tmp/usr/lib/python3/dist-packages" >/dev/null || log "compileall reported errors (modules for a newer Python); they compile at run time"
  (cd "$APT_DIR/debs" && ls -1 ./*.deb) >"$dest.tmp/debs.txt"
  : >"$dest.tmp/ok"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  log "unpacked into $dest"
}

main "$@"
