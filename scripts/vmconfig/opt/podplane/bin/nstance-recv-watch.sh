#!/usr/bin/env bash
# Run by nstance-recv-watch.service when the Nstance agent touches
# /opt/nstance-agent/recv/write-files.last (or by hand). Applies a delivery all or nothing:
#  1. checks every file of /opt/nstance-agent/recv/ (not write-files.last, not dot-files: the
#     agent's files in flight) against share/deliveries.tsv, and every key nstance-agent generated
#     in /opt/nstance-agent/keys/ for a delivered certificate: an unknown or unsafe name, a symbolic
#     link or other non-regular file, a file over 64 KiB, a certificate/key that is not PEM of its
#     type, a key without its certificate or a certificate without its key refuses the delivery;
#  2. has update-mutable-env.sh merge the delivered mutable.env (its rejection refuses the rest);
#  3. copies the changed files to their runtime places (owner, group and mode set before an
#     atomic rename);
#  4. runs configure.sh once, whose restart.sh restarts only the services whose inputs changed.
# Steps 2-4 hold the vmconfig lock (one flock: the scripts run inherit it).
# A burst of deliveries ends in one run: the trigger is removed, then the script waits
# PODPLANE_RECV_SETTLE seconds (default 1) until no new trigger arrived, and goes round again
# when one arrives while it works. A refused delivery is logged (stderr and journal) file by
# file and exits 1, unless a newer delivery has arrived meanwhile.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/deliveries.sh
source "${BASH_SOURCE[0]%/*}/../lib/deliveries.sh"
trap 'err_report $LINENO' ERR

readonly SETTLE="${PODPLANE_RECV_SETTLE:-1}"
[[ "$SETTLE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "PODPLANE_RECV_SETTLE='$SETTLE': expected a number of seconds"

declare -a PROBLEMS=() QUEUE_ROW=() QUEUE_TEXT=()
MUTABLE_INPUT=""

problem() { PROBLEMS+=("$1: $2"); }

# queue NAME TEXT: every row of NAME for this kind gets TEXT.
queue() {
  local i
  for i in ${DLV_ROWS[$1]}; do
    QUEUE_ROW+=("$i")
    QUEUE_TEXT+=("$2")
  done
}

# check_recv: the delivered files, into QUEUE_* (and MUTABLE_INPUT) or PROBLEMS.
check_recv() {
  local f name text
  local -A delivered=()
  shopt -s nullglob
  # Dot-files are the agent's files in flight and wait for the next trigger, except a name with
  # '..' in it, which is never one: it is refused like any other unsafe name.
  local -a entries=("$RECV_DIR"/*)
  for f in "$RECV_DIR"/.*; do
    name=${f##*/}
    [[ "$name" == . || "$name" == .. || "$name" != *..* ]] || entries+=("$f")
  done
  shopt -u nullglob
  for f in "${entries[@]}"; do
    name=${f##*/}
    [[ "$name" != "${RECV_TRIGGER##*/}" ]] || continue
    # A name is a single path component by construction; '..' and odd characters are refused
    # before the name is used for anything.
    if [[ "$name" == *..* || "$name" == */* || ! "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
      problem "$name" "unsafe file name"
      continue
    fi
    if [[ -z "${DLV_KINDS[$name]:-}" ]]; then
      problem "$name" "not a file Nstance may deliver (share/deliveries.tsv)"
      continue
    fi
    if [[ -z "${DLV_ROWS[$name]:-}" ]]; then
      warn "$name: skipped, delivered to ${DLV_KINDS[$name]} nodes only (this is $IMAGE_KIND)"
      continue
    fi
    if ! read_delivered "$f" text; then
      problem "$name" "$DELIVERY_REASON"
      continue
    fi
    # shellcheck disable=SC2034 # read by check_keys through a nameref
    delivered[$name]=1
    if [[ "$name" == mutable.env ]]; then
      MUTABLE_INPUT=$f
      continue
    fi
    if ! check_pem "$name" "$text"; then
      problem "$name" "$DELIVERY_REASON"
      continue
    fi
    queue "$name" "$text"
  done
  check_keys delivered
}

# check_keys DELIVERED: each key nstance-agent generated goes with its delivered certificate.
check_keys() {
  local -n _have=$1
  local i name crt key text
  local -A seen=()
  for i in "${!DLV_NAME[@]}"; do
    name=${DLV_NAME[i]}
    [[ "${DLV_FROM[i]}" == keys && -z "${seen[$name]:-}" ]] || continue
    seen[$name]=1
    crt=${name%.key}.crt
    key="$NSTANCE_KEYS_DIR/$name"
    if [[ ! -e "$key" && ! -L "$key" ]]; then
      [[ -z "${_have[$crt]:-}" ]] || problem "$crt" "delivered without its key ${key#"$PODPLANE_ROOT"}"
      continue
    fi
    if [[ -z "${_have[$crt]:-}" ]]; then
      problem "${key#"$PODPLANE_ROOT"}" "a key without its certificate $crt"
    elif ! read_delivered "$key" text || ! check_pem "$name" "$text"; then
      problem "${key#"$PODPLANE_ROOT"}" "$DELIVERY_REASON"
    else
      queue "$name" "$text"
    fi
  done
}

# check_destinations: every runtime directory exists (systemd-tmpfiles makes them, with the
# group that may read them); writing into a missing one would guess its permissions.
check_destinations() {
  local q dest
  for q in "${!QUEUE_ROW[@]}"; do
    dest=${DLV_DEST[${QUEUE_ROW[q]}]}
    [[ -d "$PODPLANE_ROOT${dest%/*}" ]] || problem "${DLV_NAME[${QUEUE_ROW[q]}]}" "${dest%/*} does not exist (etc/tmpfiles.d/podplane*.conf not applied?)"
  done
}

# refuse: logs every problem (stderr and journal) and returns 1.
refuse() {
  local p joined
  for p in "${PROBLEMS[@]}"; do printf '%s: refused: %s\n' "$LOG_TAG" "$p" >&2; done
  printf -v joined '%s; ' "${PROBLEMS[@]}"
  log_error "refused the delivery in ${RECV_DIR#"$PODPLANE_ROOT"}/, nothing of it applied: ${joined%; }"
  return 1
}

# apply_delivery: steps 1-3 above; returns 1 (after logging why) when the delivery is refused.
apply_delivery() {
  local q i
  local -a dests=()
  PROBLEMS=() QUEUE_ROW=() QUEUE_TEXT=() DELIVERED=() MUTABLE_INPUT=""
  check_recv
  check_destinations
  ((${#PROBLEMS[@]} == 0)) || refuse || return 1
  # The lock from here to the end of configure.sh: update-mutable-env.sh and configure.sh
  # inherit it (take_lock), so nothing runs between the merge, the files and the configure pass.
  take_lock
  if [[ -n "$MUTABLE_INPUT" ]] && ! "$VMCONFIG_HOME/bin/update-mutable-env.sh" "$MUTABLE_INPUT"; then
    problem mutable.env "rejected by update-mutable-env.sh (reason above)"
    refuse || return 1
  fi
  for i in "${QUEUE_ROW[@]}"; do dests+=("${DLV_DEST[i]}"); done
  stage_delivery_dirs "${dests[@]}"
  for q in "${!QUEUE_ROW[@]}"; do
    i=${QUEUE_ROW[q]}
    stage_delivery "${DLV_DEST[i]}" "${DLV_MODE[i]}" "${DLV_OWNER[i]}" "${DLV_GROUP[i]}" "${QUEUE_TEXT[q]}"
  done
  ((${#DELIVERED[@]} == 0)) || commit_deliveries
  log "applied the delivery: ${#QUEUE_ROW[@]} files checked; updated: ${DELIVERED[*]:-none}"
}

main() {
  local refused
  load_image_kind
  load_deliveries "$IMAGE_KIND"
  while :; do
    if [[ -e "$RECV_TRIGGER" ]]; then
      # Each trigger that arrives while waiting restarts the wait: a burst is applied once.
      while [[ -e "$RECV_TRIGGER" ]]; do
        rm -f -- "$RECV_TRIGGER"
        pause "$SETTLE"
      done
    fi
    refused=0
    if apply_delivery; then
      log "running configure.sh"
      "$VMCONFIG_HOME/bin/configure.sh"
    else
      refused=1
    fi
    # Not held while the next round settles.
    exec 9>&-
    # systemd does not start the unit again for a trigger that arrives while it runs.
    [[ -e "$RECV_TRIGGER" ]] || break
    log "another delivery arrived meanwhile: going round again"
  done
  ((refused == 0)) || exit 1
}

main "$@"
