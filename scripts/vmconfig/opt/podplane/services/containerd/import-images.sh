#!/usr/bin/env bash
# Bake time (install.sh): import-images.sh STAGE OUT
# Puts every container image of the stage into containerd's content store (namespace k8s.io),
# so a node never pulls its pinned images (the pause image first of all). STAGE/images.tsv has
# one TAB line per image: image platform index digest archive sha256 blobs (archive: an OCI
# archive relative to STAGE; blobs: the comma-separated digests of the platform manifest, its
# config and layers). Each archive is checked against its sha256 before anything starts. Then
# this image's own containerd runs once with a temporary config: its real root
# ($PODPLANE_ROOT/var/lib/containerd, the content store and snapshots that stay in the image)
# but state, sockets and log in a temporary directory; `ctr images import --platform` imports
# and unpacks each archive; the image name must then point at the pinned index digest and every
# blob must be in the content store. containerd is stopped and its temporary state removed.
# OUT gets one TAB line per imported image: image platform index digest.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../../lib/common.sh"

readonly NAMESPACE=k8s.io
readonly START_TIMEOUT_S=${PODPLANE_IMPORT_START_TIMEOUT:-120}

STAGE=""
TMP=""
PID=""
declare -a IMG=() PLATFORM=() INDEX=() DIGEST=() ARCHIVE=() SUM=() BLOBS=()

read_images() {
  local tsv=$1 image platform index digest rel sum blobs n=0
  while IFS=$'\t' read -r image platform index digest rel sum blobs; do
    n=$((n + 1))
    [[ -z "$image" || "$image" == \#* ]] && continue
    [[ -n "$blobs" ]] || die "$tsv line $n: expected 7 TAB-separated fields (image platform index digest archive sha256 blobs)"
    [[ "$rel" != /* && "$rel" != *..* ]] || die "$tsv line $n: $image: the archive must stay inside the stage directory"
    [[ "$index" =~ ^sha256:[0-9a-f]{64}$ && "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "$tsv line $n: $image: index and digest must be sha256:<64 hex>"
    [[ "$platform" =~ ^linux/(amd64|arm64)$ ]] || die "$tsv line $n: $image: unknown platform '$platform'"
    IMG+=("$image")
    PLATFORM+=("$platform")
    INDEX+=("$index")
    DIGEST+=("$digest")
    ARCHIVE+=("$STAGE/$rel")
    SUM+=("$sum")
    BLOBS+=("$blobs")
  done <"$tsv"
}

verify_archives() {
  local i found
  for i in "${!IMG[@]}"; do
    [[ -f "${ARCHIVE[i]}" ]] || die "${IMG[i]}: ${ARCHIVE[i]} is missing from the stage"
    found=$(sha256sum "${ARCHIVE[i]}")
    found=${found%% *}
    [[ "sha256:$found" == "${SUM[i]}" ]] || die "${IMG[i]}: ${ARCHIVE[i]}: expected ${SUM[i]}, found sha256:$found: refusing to import"
  done
}

ctr_() { "$PODPLANE_ROOT/usr/local/bin/ctr" --address "$TMP/containerd.sock" --namespace "$NAMESPACE" "$@"; }

stop_containerd() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  PID=""
  # Never remove through a mount: containerd mounts nothing under its state here (no container
  # runs), but if something were left mounted beneath, the directory stays and says so.
  if [[ -n "$TMP" ]] && awk -v dir="$TMP" '$5 == dir || index($5, dir "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    echo "podplane-import-images: $TMP left in place: something is still mounted beneath it" >&2
  elif [[ -n "$TMP" ]]; then
    rm -rf -- "$TMP"
  fi
  TMP=""
}

# The image's own containerd, with no CRI (nothing of Kubernetes runs during the bake) and no
# file outside its real root but the temporary directory.
start_containerd() {
  local root="$PODPLANE_ROOT/var/lib/containerd" waited=0
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/podplane-image-import.XXXXXX")
  install -d -m 0711 "$root"
  cat >"$TMP/config.toml" <<EOF
version = 3
root = "$root"
state = "$TMP/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri"]

[grpc]
  address = "$TMP/containerd.sock"

[ttrpc]
  address = "$TMP/containerd.sock.ttrpc"
EOF
  "$PODPLANE_ROOT/usr/local/bin/containerd" --config "$TMP/config.toml" >"$TMP/containerd.log" 2>&1 &
  PID=$!
  until ctr_ version >/dev/null 2>&1; do
    if ! kill -0 "$PID" 2>/dev/null || ((waited >= START_TIMEOUT_S * 2)); then
      warn "containerd log: $(tail -n 5 "$TMP/containerd.log" 2>/dev/null | tr '\n' '|')"
      die "the image's containerd did not answer on $TMP/containerd.sock within ${START_TIMEOUT_S} s"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

# The name must point at the pinned index and every blob of the platform must be in the store.
verify_imported() {
  local i=$1 line target="" have blob
  while IFS= read -r line; do
    read -r -a fields <<<"$line"
    [[ "${fields[0]:-}" != "${IMG[i]}" ]] || target=${fields[2]:-}
  done < <(ctr_ images ls)
  [[ "$target" == "${INDEX[i]}" ]] || die "${IMG[i]}: imported as ${target:-nothing}, expected the pinned index ${INDEX[i]}"
  have=$'\n'$(ctr_ content ls -q)$'\n'
  IFS=, read -r -a blobs <<<"${BLOBS[i]}"
  for blob in "${blobs[@]}"; do
    [[ "$have" == *$'\n'"$blob"$'\n'* ]] || die "${IMG[i]}: $blob is not in containerd's content store after the import"
  done
}

main() {
  (($# == 2)) || die "usage: import-images.sh STAGE OUT"
  STAGE=$1
  local out=$2 i
  [[ -f "$STAGE/images.tsv" ]] || die "$STAGE/images.tsv is missing"
  read_images "$STAGE/images.tsv"
  : >"$out"
  ((${#IMG[@]} > 0)) || return 0
  [[ -x "$PODPLANE_ROOT/usr/local/bin/containerd" && -x "$PODPLANE_ROOT/usr/local/bin/ctr" ]] ||
    die "containerd and ctr must be installed in /usr/local/bin before the images are imported"
  verify_archives
  trap stop_containerd EXIT
  start_containerd
  for i in "${!IMG[@]}"; do
    ctr_ images import --platform "${PLATFORM[i]}" "${ARCHIVE[i]}" >/dev/null ||
      die "${IMG[i]}: ctr images import failed: $(tail -n 3 "$TMP/containerd.log" | tr '\n' '|')"
    verify_imported "$i"
    printf '%s\t%s\t%s\t%s\n' "${IMG[i]}" "${PLATFORM[i]}" "${INDEX[i]}" "${DIGEST[i]}" >>"$out"
    log "imported ${IMG[i]} (${PLATFORM[i]}) into containerd namespace $NAMESPACE: index ${INDEX[i]}"
  done
  stop_containerd
  trap - EXIT
}

main "$@"
