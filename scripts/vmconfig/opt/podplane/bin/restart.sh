#!/usr/bin/env bash
# Brings the kind's services in line with /opt/env: starts a service that is not running,
# restarts one whose inputs changed since its last start (or since its start under way began),
# leaves the rest alone, and stops a service whose env file configure.sh removed. A service's
# inputs: its /opt/env/<service>.env, the files of its services.tsv inputs column (configs its
# room writes) and the delivered certificates and keys whose share/deliveries.tsv row names it;
# their digests are recorded under /opt/podplane/state after a successful (re)start (containerd's
# also by install.sh, which writes its inputs at bake time: it starts at boot). So a rotated
# kubelet.server.crt restarts kubelet alone, a rotated ca.crt every service that reads it.
# Run by configure.sh with PODPLANE_NOOP_OUT=FILE, it also writes there the lines of configure's
# no-op stamp it knows (lib/noop.sh): every input of every service and the services it left
# running.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/deliveries.sh
source "${BASH_SOURCE[0]%/*}/../lib/deliveries.sh"
# shellcheck source=SCRIPTDIR/../lib/noop.sh
source "${BASH_SOURCE[0]%/*}/../lib/noop.sh"
trap 'err_report $LINENO' ERR

# The states `systemctl is-active` counts as running (it exits 0 for these).
readonly RUNNING_STATES=" active reloading refreshing "

# not_running UNIT...: the units among them that `systemctl is-active` does not count as
# running, in NOT_RUNNING, and the services among those it calls `activating` (a start under way,
# e.g. containerd at boot until its READY=1) in ACTIVATING (one systemctl call for all).
declare -a NOT_RUNNING=()
declare -A ACTIVATING=()
not_running() {
  local i
  local -a states=()
  NOT_RUNNING=()
  ACTIVATING=()
  local -a units=("$@")
  mapfile -t states < <(systemctl is-active -- "$@" || true)
  for i in "${!units[@]}"; do
    [[ "$RUNNING_STATES" != *" ${states[i]:-unknown} "* ]] || continue
    NOT_RUNNING+=("${units[i]}")
    [[ "${states[i]}" != activating ]] || ACTIVATING[${units[i]%.service}]=1
  done
}

# run_verb VERB SERVICE...: one `systemctl VERB` for all of them, then verb_result.
declare -A FAILED=()
declare -a STARTED=() RESTARTED=()
run_verb() {
  local verb=$1 rc=0
  shift
  (($# > 0)) || return 0
  systemctl "$verb" -- "${@/%/.service}" || rc=$?
  verb_result "$verb" "$rc" "$@"
}

# verb_result VERB RC SERVICE...: after `systemctl VERB` of them exited RC. On failure, one
# `systemctl is-active` tells which ones did not get there: warned about, added to FAILED.
verb_result() {
  local verb=$1 rc=$2 unit
  shift 2
  local -a units=("${@/%/.service}") bad=()
  if ((rc == 0)); then
    # Only a start can be skipped for a condition: a restart is of a unit that was running.
    [[ "$verb" != start ]] || note_waiting "${units[@]}"
    return 0
  fi
  not_running "${units[@]}"
  if [[ "$verb" == stop ]]; then
    local -A down=()
    for unit in "${NOT_RUNNING[@]}"; do down[$unit]=1; done
    for unit in "${units[@]}"; do [[ -n "${down[$unit]:-}" ]] || bad+=("$unit"); done
  else
    ((${#NOT_RUNNING[@]} == 0)) || note_waiting "${NOT_RUNNING[@]}"
    for unit in "${NOT_RUNNING[@]}"; do [[ -n "${WAITING[${unit%.service}]:-}" ]] || bad+=("$unit"); done
  fi
  ((${#bad[@]} > 0 || ${#WAITING[@]} > 0)) || bad=("${units[@]}")
  for unit in "${bad[@]}"; do
    warn "$unit did not $verb"
    FAILED[${unit%.service}]=1
  done
}

# start_and_restart: the starts and the restarts at once when there are both (a delivery that
# changes a running service's inputs and brings the certificates others waited for): the
# restart's `systemctl` runs in the background while the start's waits, so the slowest unit of
# either sets the pace, not their sum; systemd orders the jobs by After= across both. Both are
# waited for and their failures reported as one at a time would be.
start_and_restart() {
  local pid rc=0
  if ((${#STARTED[@]} == 0 || ${#RESTARTED[@]} == 0)); then
    run_verb start "${STARTED[@]}"
    run_verb restart "${RESTARTED[@]}"
    return 0
  fi
  systemctl restart -- "${RESTARTED[@]/%/.service}" &
  pid=$!
  run_verb start "${STARTED[@]}"
  wait "$pid" || rc=$?
  verb_result restart "$rc" "${RESTARTED[@]}"
}

# note_waiting UNIT...: the units among them that systemd skipped because a ConditionPathExists=
# does not hold yet (a service whose certificates Nstance has not delivered, on first boot) go
# to WAITING: not started, and not a failure; the next configure run (after the delivery) starts
# them. One `systemctl show` for all of them.
declare -A WAITING=()
note_waiting() {
  local line unit="" re='^Id=(.*)$'
  while IFS= read -r line; do
    if [[ "$line" =~ $re ]]; then
      unit=${BASH_REMATCH[1]}
    elif [[ "$line" == ConditionResult=no && -n "$unit" ]]; then
      WAITING[${unit%.service}]=1
    fi
  done < <(systemctl show -p Id -p ConditionResult -- "$@" 2>/dev/null || true)
}

# without_failed ARRAY: drops the services in FAILED (and those WAITING for their inputs) from
# the array named ARRAY.
without_failed() {
  local -n _list=$1
  local svc
  local -a kept=()
  for svc in "${_list[@]}"; do [[ -n "${FAILED[$svc]:-}${WAITING[$svc]:-}" ]] || kept+=("$svc"); done
  _list=("${kept[@]}")
}

main() {
  local svc old
  local -a present=() absent=() units=() started=() restarted=() stopped=() unchanged=() obsolete=()
  local -A down=()
  load_image_kind
  load_services "$IMAGE_KIND"
  load_deliveries "$IMAGE_KIND"
  load_service_inputs "$IMAGE_KIND"
  [[ -d "$PP_STATE" ]] || mkdir -p "$PP_STATE"
  for svc in "${SERVICES[@]}"; do
    units+=("$svc.service")
    if [[ -f "$SERVICE_ENV_DIR/$svc.env" ]]; then present+=("$svc"); else absent+=("$svc"); fi
  done
  not_running "${units[@]}"
  for svc in "${NOT_RUNNING[@]}"; do down[${svc%.service}]=1; done
  compute_digests "${present[@]}"
  for svc in "${absent[@]}"; do
    [[ -n "${down[$svc]:-}" ]] || stopped+=("$svc")
    [[ ! -e "$PP_STATE/$svc.digest" ]] || obsolete+=("$PP_STATE/$svc.digest")
  done
  for svc in "${present[@]}"; do
    read_file "$PP_STATE/$svc.digest" old
    if [[ -n "${ACTIVATING[$svc]:-}" && "$old" != "${DIGEST[$svc]}" ]]; then
      # Its start is under way with inputs other than the recorded ones (containerd starting at
      # boot from install.sh's config.toml while this run wrote another): it may have read the
      # old ones, so it is restarted. systemd keeps a restart of an activating unit and runs it
      # again (job.c: job_type_is_redundant, job_install); a start would only join that job.
      restarted+=("$svc")
    elif [[ -n "${down[$svc]:-}" ]]; then
      # Not running: started. A start under way with the recorded inputs is joined, not redone
      # (systemd merges the start into the running start job and systemctl waits for it).
      started+=("$svc")
    elif [[ "$old" != "${DIGEST[$svc]}" ]]; then
      restarted+=("$svc")
    else
      unchanged+=("$svc")
    fi
  done
  run_verb stop "${stopped[@]}"
  ((${#obsolete[@]} == 0)) || rm -f -- "${obsolete[@]}"
  STARTED=("${started[@]}")
  RESTARTED=("${restarted[@]}")
  start_and_restart
  # A digest is recorded only for a service that is running with it.
  for svc in "${started[@]}" "${restarted[@]}"; do
    [[ -n "${FAILED[$svc]:-}${WAITING[$svc]:-}" ]] || stage_digest "$svc"
  done
  ((STAGED_COUNT == 0)) || commit_staged
  without_failed started
  without_failed restarted
  without_failed stopped
  local -a waiting=("${!WAITING[@]}")
  log "started: ${started[*]:-none}; restarted: ${restarted[*]:-none}; stopped: ${stopped[*]:-none}; unchanged: ${unchanged[*]:-none}; waiting for their inputs: ${waiting[*]:-none}"
  ((${#FAILED[@]} == 0)) || die "some services failed to start, restart or stop: ${!FAILED[*]} (see above and journalctl -u <service>)"
  [[ -z "${PODPLANE_NOOP_OUT:-}" ]] || noop_lines "$PODPLANE_NOOP_OUT" "${started[@]}" "${restarted[@]}" "${unchanged[@]}"
}

# noop_lines FILE RUNNING...: for configure.sh's stamp, each service's env file and inputs
# (present or absent) and a unit line per service in RUNNING (started, restarted or unchanged,
# none failed nor waiting), into FILE.
noop_lines() {
  local file=$1 svc stamp_text="" old
  local -a paths
  shift
  for svc in "${SERVICES[@]}"; do
    mapfile -t paths <<<"${SERVICE_ENV_DIR#"$PODPLANE_ROOT"}/$svc.env"$'\n'"${SERVICE_INPUTS[$svc]:-}"
    noop_watch stamp_text "${paths[@]}"
  done
  for svc in "$@"; do stamp_text+="unit $svc.service"$'\n'; done
  # Rewritten only when it says something new: a run that changed nothing writes nothing.
  read_file "$file" old
  [[ "$old" == "$stamp_text" && -f "$file" ]] || printf '%s' "$stamp_text" >"$file"
}

main "$@"
