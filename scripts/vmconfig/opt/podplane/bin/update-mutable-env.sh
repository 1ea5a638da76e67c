#!/usr/bin/env bash
# Validates the mutable.env the Nstance agent delivered (default
# /opt/nstance-agent/recv/mutable.env, or $1) and merges it into /opt/podplane/etc/mutable.env.
# Only the 36 mutable variables are accepted; each value is checked for its type. Any invalid
# line rejects the whole file: mutable.env stays byte-for-byte as it was, and the reason goes to
# stderr and the journal. Delivered lines are NAME=value; one pair of quotes around the whole
# value is removed (no escapes are interpreted).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

readonly MAX_FILE_BYTES=65536
INPUT=""

reject() { die "rejected $INPUT: $*; $MUTABLE_ENV is unchanged"; }

# Fills the associative array named $1 from INPUT, or rejects the file.
parse_delivered() {
  local -n parsed=$1
  local line n=0 name value quote re='^([A-Za-z_][A-Za-z0-9_]*)=(.*)$'
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ $re ]] || reject "line $n: expected NAME=value"
    name=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    [[ -n "${MUTABLE_TYPE[$name]+set}" ]] || reject "line $n: $name is not one of the 36 mutable variables"
    [[ -z "${parsed[$name]+set}" ]] || reject "line $n: $name is set twice"
    case "$value" in
      \'*\' | \"*\")
        if ((${#value} >= 2)); then
          quote=${value:0:1}
          value=${value:1:-1}
          [[ "$value" != *"$quote"* ]] || reject "line $n: $name: a quote inside a quoted value"
        fi
        ;;
      \'* | \"*) reject "line $n: $name: unterminated quote (a value cannot span lines)" ;;
    esac
    check_value "${MUTABLE_TYPE[$name]}" "$value" || reject "line $n: $name: $CHECK_REASON"
    parsed["$name"]=$value
  done <"$INPUT"
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
  [[ -f "$MUTABLE_ENV" ]] || "$VMCONFIG_HOME/bin/bootstrap.sh"
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
