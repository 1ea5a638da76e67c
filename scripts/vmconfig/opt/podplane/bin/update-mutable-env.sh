#!/usr/bin/env bash
# Validates the mutable.env the Nstance agent delivered (default
# /opt/nstance-agent/recv/mutable.env, or $1) and merges it into /opt/podplane/etc/mutable.env.
# The format is the Podplane CLI's (internal/clusterspec): NAME='value' lines, '\'' for a quote,
# every key present, many empty (empty means "the default"). Accepted names: the CLI's 39 and
# the seed's 6 (variables.tsv, source mutable); each value is checked for its type, and
# REGISTRY_ENABLED='true' needs a REGISTRY_HOSTNAME as the CLI requires. Anything else (an
# unknown name, a value spanning lines, a bare $( ), a bad type) rejects the whole file:
# mutable.env stays byte-for-byte as it was, the reason goes to stderr and the journal. The
# file is parsed, never executed; mutable.env is replaced atomically.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

readonly MAX_FILE_BYTES=65536
INPUT=""

reject() { die "rejected $INPUT: $*; $MUTABLE_ENV is unchanged"; }

# parse_delivered ARRAY: INPUT parsed (read_env_file: no value may span lines) and checked into
# ARRAY, or the file is rejected. read_env_file dies with the reason; reject() adds the verdict.
parse_delivered() {
  local -n parsed=$1
  local name ENV_PARSE_FAIL=reject
  read_env_file "$INPUT" parsed
  for name in "${!parsed[@]}"; do
    [[ -n "${MUTABLE_TYPE[$name]+set}" ]] || reject "$name is not one of the ${#MUTABLE_NAMES[@]} mutable variables (the Podplane CLI's and the seed's)"
    check_value "${MUTABLE_TYPE[$name]}" "${parsed[$name]}" || reject "$name: $CHECK_REASON"
  done
  [[ "${parsed[REGISTRY_ENABLED]:-}" != true || -n "${parsed[REGISTRY_HOSTNAME]:-}" ]] ||
    reject "REGISTRY_HOSTNAME is required when REGISTRY_ENABLED is true"
}

# read_head VAR: the first MAX_FILE_BYTES + 1 bytes of INPUT (NUL bytes dropped) into VAR.
read_head() {
  local LC_ALL=C
  IFS= read -r -N $((MAX_FILE_BYTES + 1)) "$1" <"$INPUT" || true
}

main() {
  INPUT=${1:-$RECV_DIR/mutable.env}
  if [[ ! -f "$INPUT" ]]; then
    log "no $INPUT: nothing to merge"
    return 0
  fi
  # recv/ belongs to the Nstance agent's user: never follow a link it could plant there.
  [[ ! -L "$INPUT" ]] || reject "it is a symbolic link"
  # Builtin reads only: at most MAX_FILE_BYTES + 1 bytes (read drops NUL bytes, so a
  # second read up to the first NUL finds those), then CR.
  local text
  read_head text
  ((${#text} <= MAX_FILE_BYTES)) || reject "larger than $MAX_FILE_BYTES bytes"
  ! IFS= read -r -d '' _ <"$INPUT" || reject "contains a NUL byte"
  [[ "$text" != *$'\r'* ]] || reject "contains a carriage return (CRLF line endings?)"
  load_variables
  local -A delivered=() current=()
  parse_delivered delivered
  take_lock
  [[ -f "$BOOTSTRAP_DONE" && -f "$MUTABLE_ENV" ]] || "$VMCONFIG_HOME/bin/bootstrap.sh"
  read_env_file "$MUTABLE_ENV" current
  local name changed=()
  for name in "${!delivered[@]}"; do
    [[ "${current[$name]:-}" == "${delivered[$name]}" ]] || changed+=("$name")
    current[$name]=${delivered[$name]}
  done
  write_mutable_env current
  log "merged ${#delivered[@]} variables from $INPUT; changed: ${changed[*]:-none}"
}

main "$@"
