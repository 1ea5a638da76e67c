#!/usr/bin/env bash
# Once per instance (configure.sh calls it): detects hostname and primary IPv4/IPv6 into
# /opt/podplane/etc/detected.env and seeds /opt/podplane/etc/mutable.env from the defaults in
# variables.tsv plus the mutable values user-data.env carries. Both files are left alone once
# they exist, so a second run changes nothing.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

# detect_addresses: NODE4/NODE6, the primary IPv4/IPv6 address: the first global address on
# the interface of the default route (/proc/net/route, /proc/net/ipv6_route), else the first
# global address at all (IPv6: a site-local one if there is no global one). One `ip` call.
NODE4=""
NODE6=""
detect_addresses() {
  local line dev4="" dev6="" dest mask plen
  local -a f
  if [[ -r "$PODPLANE_ROOT/proc/net/route" ]]; then
    while read -r -a f; do
      dest=${f[1]:-} mask=${f[7]:-}
      if [[ "$dest" == 00000000 && "$mask" == 00000000 ]]; then
        dev4=${f[0]}
        break
      fi
    done <"$PODPLANE_ROOT/proc/net/route"
  fi
  if [[ -r "$PODPLANE_ROOT/proc/net/ipv6_route" ]]; then
    while read -r -a f; do
      dest=${f[0]:-} plen=${f[1]:-}
      if [[ "$dest" =~ ^0{32}$ && "$plen" == 00 && "${f[9]:-lo}" != lo ]]; then
        dev6=${f[9]}
        break
      fi
    done <"$PODPLANE_ROOT/proc/net/ipv6_route"
  fi
  # "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\ ..."
  local re='^[0-9]+: ([^ ]+) +(inet6?) ([0-9A-Fa-f:.]+)/[0-9]+ (.* )?scope (global|site)'
  local first4="" first6="" site6="" dev fam addr scope
  while IFS= read -r line; do
    [[ "$line" =~ $re ]] || continue
    dev=${BASH_REMATCH[1]} fam=${BASH_REMATCH[2]} addr=${BASH_REMATCH[3]} scope=${BASH_REMATCH[5]}
    if [[ "$fam" == inet ]]; then
      [[ -n "$first4" ]] || first4=$addr
      [[ -n "$NODE4" || "$dev" != "$dev4" ]] || NODE4=$addr
    elif [[ "$scope" == global ]]; then
      [[ -n "$first6" ]] || first6=$addr
      [[ -n "$NODE6" || "$dev" != "$dev6" ]] || NODE6=$addr
    else
      [[ -n "$site6" ]] || site6=$addr
    fi
  done < <(ip -o addr show 2>/dev/null || true)
  NODE4=${NODE4:-$first4}
  NODE6=${NODE6:-${first6:-$site6}}
}

# detect_hostname: NODE_NAME from the kernel (/proc), else the hostname command.
NODE_NAME=""
detect_hostname() {
  local file="$PODPLANE_ROOT/proc/sys/kernel/hostname"
  if [[ -r "$file" ]]; then
    IFS= read -r NODE_NAME <"$file" || true
  else
    NODE_NAME=$(hostname)
  fi
}

write_detected() {
  local text q
  detect_hostname
  detect_addresses
  [[ -n "$NODE_NAME" ]] || die "cannot detect the hostname"
  [[ -n "$NODE4" || -n "$NODE6" ]] || warn "no global IPv4 or IPv6 address found"
  quote_single q "$NODE_NAME"
  text="NODE_HOSTNAME=$q"$'\n'
  quote_single q "$NODE4"
  text+="NODE_IPV4=$q"$'\n'
  quote_single q "$NODE6"
  text+="NODE_IPV6=$q"$'\n'
  stage_file "$DETECTED_ENV" 0644 "$text"
  log "detected $NODE_NAME ${NODE4:-no-ipv4} ${NODE6:-no-ipv6}"
}

# seed is passed by name to mutable_env_text.
# shellcheck disable=SC2034
seed_mutable() {
  local -A seed=() user_data=()
  local name text
  for name in "${MUTABLE_NAMES[@]}"; do
    seed[$name]=${MUTABLE_DEFAULT[$name]}
  done
  read_env_file "$USER_DATA_ENV" user_data
  for name in "${!user_data[@]}"; do
    [[ -n "${MUTABLE_TYPE[$name]+set}" ]] || continue
    check_value "${MUTABLE_TYPE[$name]}" "${user_data[$name]}" || die "$USER_DATA_ENV: $name: $CHECK_REASON"
    seed[$name]=${user_data[$name]}
  done
  mutable_env_text seed text
  stage_file "$MUTABLE_ENV" 0600 "$text"
  log "seeded $MUTABLE_ENV"
}

main() {
  [[ -f "$USER_DATA_ENV" ]] || die "$USER_DATA_ENV is missing: the cloud-init user-data has not run"
  load_variables
  [[ -f "$DETECTED_ENV" ]] || write_detected
  [[ -f "$MUTABLE_ENV" ]] || seed_mutable
  # detected.env and mutable.env: one mv.
  ((STAGED_COUNT == 0)) || commit_staged
}

main "$@"
