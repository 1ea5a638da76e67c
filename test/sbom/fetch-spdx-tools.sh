#!/usr/bin/env bash
# fetch-spdx-tools.sh [CACHE_DIR]: unpacks Debian's SPDX validator (python3-spdx-tools, pure
# Python, from unstable) and the Python libraries it imports into CACHE_DIR/spdx-tools, so the
# SBOM tests can run `pyspdxtools -i FILE` with the host's python3 and PYTHONPATH. Nothing is
# installed on this host: apt runs with a private sources list, state and cache (`apt-get
# download` only) and each .deb is unpacked with `dpkg-deb -x`. Default CACHE_DIR:
# $PODPLANE_FIXTURE_CACHE or ~/.cache/podplane-images-fixtures. Re-running with the tool present
# makes no request.
set -euo pipefail

# shellcheck source=test/fixtures/private-apt.sh
source "${BASH_SOURCE[0]%/*}/../fixtures/private-apt.sh"
# The validator and every pure-Python library of its dependency tree (the host's python3 runs them).
readonly PACKAGES=(python3-spdx-tools python3-beartype python3-boolean python3-click python3-license-expression
  python3-ply python3-rdflib python3-semantic-version python3-uritools python3-xmltodict python3-yaml python3-pyparsing)

log() { printf 'fetch-spdx-tools: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

main() {
  local cache=${1:-${PODPLANE_FIXTURE_CACHE:-$HOME/.cache/podplane-images-fixtures}}
  local dest="$cache/spdx-tools"
  if [[ -f "$dest/ok" ]]; then
    log "already unpacked in $dest"
    return 0
  fi
  private_apt_open "$(dpkg --print-architecture)"
  log "apt-get download ${PACKAGES[*]}"
  (cd "$PRIVATE_APT_DIR/debs" && apt_private download "${PACKAGES[@]}") >&2 || die "apt-get download failed"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  local deb
  for deb in "$PRIVATE_APT_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
  [[ -f "$dest.tmp/usr/bin/pyspdxtools" ]] || die "python3-spdx-tools holds no /usr/bin/pyspdxtools"
  # Byte-compiled once here, so each run of the validator does not compile rdflib and the rest again.
  python3 -m compileall -q "$dest.tmp/usr/lib/python3/dist-packages" >/dev/null || log "compileall reported errors (modules for a newer Python); they compile at run time"
  (cd "$PRIVATE_APT_DIR/debs" && ls -1 ./*.deb) >"$dest.tmp/debs.txt"
  : >"$dest.tmp/ok"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  log "unpacked into $dest"
}

main "$@"
