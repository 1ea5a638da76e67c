#!/usr/bin/env bash
# Once per instance (configure.sh calls it): detects hostname and primary IPv4/IPv6 into
# /opt/podplane/etc/detected.env and seeds /opt/podplane/etc/mutable.env from the defaults in
# variables.tsv plus the mutable values user-data.env carries. Both files are left alone once
# they exist, so a second run changes nothing.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

# primary_address 4|6: the source address of the default route, else the first global address.
primary_address() {
  local family=$1 probe=1.1.1.1 out re='src ([0-9A-Fa-f:.]+)'
  [[ "$family" == 6 ]] && probe=2001:4860:4860::8888
  out=$(ip "-$family" -o route get "$probe" 2>/dev/null || true)
  if [[ "$out" =~ $re ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
    return
  fi
  out=$(ip "-$family" -o addr show scope global 2>/dev/null | awk '{ print $4; exit }')
  printf '%s' "${out%%/*}"
}

write_detected() {
  local host ipv4 ipv6
  host=$(hostname)
  ipv4=$(primary_address 4)
  ipv6=$(primary_address 6)
  [[ -n "$host" ]] || die "cannot detect the hostname"
  [[ -n "$ipv4" || -n "$ipv6" ]] || warn "no global IPv4 or IPv6 address found"
  {
    printf 'NODE_HOSTNAME=%s\n' "$(quote_single "$host")"
    printf 'NODE_IPV4=%s\n' "$(quote_single "$ipv4")"
    printf 'NODE_IPV6=%s\n' "$(quote_single "$ipv6")"
  } | write_if_changed "$DETECTED_ENV" 0644
  log "detected $host ${ipv4:-no-ipv4} ${ipv6:-no-ipv6}"
}

# seed is passed by name to write_mutable_env.
# shellcheck disable=SC2034
seed_mutable() {
  local -A seed=() user_data=()
  local name reason
  for name in "${MUTABLE_NAMES[@]}"; do
    seed[$name]=${MUTABLE_DEFAULT[$name]}
  done
  read_env_file "$USER_DATA_ENV" user_data
  for name in "${!user_data[@]}"; do
    [[ -n "${MUTABLE_TYPE[$name]+set}" ]] || continue
    reason=$(check_value "${MUTABLE_TYPE[$name]}" "${user_data[$name]}") || die "$USER_DATA_ENV: $name: $reason"
    seed[$name]=${user_data[$name]}
  done
  write_mutable_env seed
  log "seeded $MUTABLE_ENV"
}

main() {
  [[ -f "$USER_DATA_ENV" ]] || die "$USER_DATA_ENV is missing: the cloud-init user-data has not run"
  load_variables
  [[ -f "$DETECTED_ENV" ]] || write_detected
  [[ -f "$MUTABLE_ENV" ]] || seed_mutable
}

main "$@"
