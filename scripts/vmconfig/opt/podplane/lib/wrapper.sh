#!/usr/bin/env bash
# Shared by the rooms' run.sh (services/<svc>/run.sh, each unit's ExecStart=): systemd loaded
# /opt/env/<svc>.env into the environment; run.sh turns those variables into the binary's flags
# and environment, then execs it. test/vmconfig/mapping.test.ts reads the `add_flag FLAG VAR`
# and `export_as NAME VAR` lines and checks them against the table in docs/vmconfig.md.
# Stands alone (no common.sh): it runs in every service start, as the service's user.
# Sourced, never run.

PODPLANE_ROOT="${PODPLANE_ROOT:-}"
ARGS=()

# add_flag FLAG VAR [DEFAULT]: FLAG=value when VAR (or DEFAULT) is not empty.
add_flag() {
  local value=${!2:-${3:-}}
  [[ -z "$value" ]] || ARGS+=("$1=$value")
}

# export_as NAME VAR [DEFAULT]: the binary reads NAME from its environment; VAR (or DEFAULT)
# holds the value; nothing is exported when both are empty.
export_as() {
  local value=${!2:-${3:-}}
  [[ -z "$value" ]] || export "$1=$value"
}

# run_binary PATH [ARG...]: execs the binary at its install path (under PODPLANE_ROOT in
# tests), the given arguments first, then the ones collected in ARGS.
run_binary() {
  local bin=$PODPLANE_ROOT$1
  shift
  exec "$bin" "$@" "${ARGS[@]}"
}
