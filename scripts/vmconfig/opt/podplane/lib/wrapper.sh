#!/usr/bin/env bash
# Shared by the run-wrappers in libexec/: the unit loaded /opt/env/<service>.env into the
# environment; a wrapper turns those variables into the binary's flags and config files, then
# execs it. `add_flag FLAG VAR` lines are what test/vmconfig/mapping.test.ts checks against the
# table in docs/vmconfig.md. Sourced, never run.

# shellcheck source=SCRIPTDIR/common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"

ARGS=()

# add_flag FLAG VAR [DEFAULT]: FLAG=value when VAR (or DEFAULT) is not empty.
add_flag() {
  local value=${!2:-${3:-}}
  [[ -z "$value" ]] || ARGS+=("$1=$value")
}

# add_flag_if BOOL_VAR FLAG VAR: add_flag FLAG VAR only when BOOL_VAR is "true".
add_flag_if() {
  [[ "${!1:-false}" != true ]] || add_flag "$2" "$3"
}

# export_as NAME VAR: the binary reads NAME from its environment; VAR holds the value.
export_as() {
  if [[ -n "${!2:-}" ]]; then
    export "$1=${!2}"
  fi
}

# runtime_dir SERVICE: RUN_DIR, the directory systemd made for this run
# (RuntimeDirectory=podplane/<service>); made here only when run outside systemd.
RUN_DIR=""
runtime_dir() {
  RUN_DIR=${RUNTIME_DIRECTORY:-$PODPLANE_ROOT/run/podplane/$1}
  [[ -d "$RUN_DIR" ]] || mkdir -p "$RUN_DIR"
}

run_binary() {
  local bin=$PODPLANE_ROOT$1
  shift
  exec "$bin" "$@" "${ARGS[@]}"
}
