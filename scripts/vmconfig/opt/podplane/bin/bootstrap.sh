#!/usr/bin/env bash
# Once per instance (configure.sh and update-mutable-env.sh run it while
# /opt/podplane/bootstrap.done is missing): detects what Podplane's bootstrap detects into
# /opt/podplane/etc/detected.env (VMCONFIG_KIND, VMCONFIG_BASE_KIND, INSTANCE_PROVIDER_ID,
# INSTANCE_IPV4, INSTANCE_IPV6, INSTANCE_NETDEV, INSTANCE_HOSTNAME, INSTANCE_FQDN), seeds
# mutable.env from the defaults in variables.tsv plus the mutable values user-data.env carries,
# then writes bootstrap.done. All or nothing: it waits (bounded) for an IPv4 address on the
# default route's device; when none arrives it fails and persists nothing, so the next
# configure run detects again. A value user-data.env gives for a detected name wins (as in
# Podplane's bootstrap).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../services/hosts-refresh/hosts.sh
source "${BASH_SOURCE[0]%/*}/../services/hosts-refresh/hosts.sh"
trap 'err_report $LINENO' ERR

readonly ADDRESS_WAIT_SECONDS=${PODPLANE_ADDRESS_WAIT_SECONDS:-60}
readonly ADDRESS_POLL_SECONDS=0.5
[[ "$ADDRESS_WAIT_SECONDS" =~ ^[0-9]{1,4}$ ]] || die "PODPLANE_ADDRESS_WAIT_SECONDS: expected a number of seconds, found '$ADDRESS_WAIT_SECONDS'"

declare -A UD=() DETECTED=()

# default_devices: DEV4 / DEV6, the devices of the IPv4 / IPv6 default routes (empty when
# there is none yet), from /proc (builtin reads, no fork).
DEV4=""
DEV6=""
default_devices() {
  local -a f
  DEV4="" DEV6=""
  if [[ -r "$PODPLANE_ROOT/proc/net/route" ]]; then
    while read -r -a f; do
      if [[ "${f[1]:-}" == 00000000 && "${f[7]:-}" == 00000000 ]]; then
        DEV4=${f[0]}
        break
      fi
    done <"$PODPLANE_ROOT/proc/net/route"
  fi
  if [[ -r "$PODPLANE_ROOT/proc/net/ipv6_route" ]]; then
    while read -r -a f; do
      if [[ "${f[0]:-}" =~ ^0{32}$ && "${f[1]:-}" == 00 && "${f[9]:-lo}" != lo ]]; then
        DEV6=${f[9]}
        break
      fi
    done <"$PODPLANE_ROOT/proc/net/ipv6_route"
  fi
}

# scan_addresses: NETDEV (the IPv4 default route's device; without a default route table, the
# device of the first global IPv4 address), ADDR4 (its first global IPv4 address) and ADDR6
# (its first global IPv6 address, else a site-local one; may stay empty). One `ip` call.
NETDEV=""
ADDR4=""
ADDR6=""
scan_addresses() {
  local line dev fam addr scope
  local -A v4=() v6=() site6=()
  local first_dev=""
  # "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\ ..."
  local re='^[0-9]+: ([^ ]+) +(inet6?) ([0-9A-Fa-f:.]+)/[0-9]+ (.* )?scope (global|site)'
  default_devices
  while IFS= read -r line; do
    [[ "$line" =~ $re ]] || continue
    dev=${BASH_REMATCH[1]} fam=${BASH_REMATCH[2]} addr=${BASH_REMATCH[3]} scope=${BASH_REMATCH[5]}
    if [[ "$fam" == inet ]]; then
      [[ -n "$first_dev" ]] || first_dev=$dev
      [[ -n "${v4[$dev]:-}" ]] || v4[$dev]=$addr
    elif [[ "$scope" == global ]]; then
      [[ -n "${v6[$dev]:-}" ]] || v6[$dev]=$addr
    else
      [[ -n "${site6[$dev]:-}" ]] || site6[$dev]=$addr
    fi
  done < <(ip -o addr show 2>/dev/null || true)
  NETDEV=${DEV4:-$first_dev}
  ADDR4="" ADDR6=""
  if [[ -n "$NETDEV" ]]; then
    ADDR4=${v4[$NETDEV]:-}
    ADDR6=${v6[$NETDEV]:-${site6[$NETDEV]:-}}
  fi
  # An IPv6-only default route on another device: its address is the node's IPv6.
  [[ -n "$ADDR6" || -z "$DEV6" ]] || ADDR6=${v6[$DEV6]:-}
}

# wait_for_address: scans until the default route's device has an IPv4 address, at most
# ADDRESS_WAIT_SECONDS; dies (journal too) when none arrives.
wait_for_address() {
  local deadline=$((SECONDS + ADDRESS_WAIT_SECONDS)) waited=0
  while :; do
    scan_addresses
    if [[ -n "$ADDR4" ]]; then
      ((waited == 0)) || log "an IPv4 address arrived on $NETDEV after ${waited} polls"
      return 0
    fi
    # Said before the deadline check: bash's SECONDS counts whole seconds, so a slow first scan
    # can reach the deadline at once, and the journal must still say what was waited for.
    ((waited > 0)) || log "waiting up to ${ADDRESS_WAIT_SECONDS} s for an IPv4 address on ${NETDEV:-the default route device}"
    ((SECONDS < deadline)) || break
    waited=$((waited + 1))
    sleep "$ADDRESS_POLL_SECONDS"
  done
  die "no IPv4 address on ${NETDEV:-any device (no default route)} after ${ADDRESS_WAIT_SECONDS} s: nothing written; the next configure run detects again"
}

# instance_id_file VAR: cloud-init's instance ID (/var/lib/cloud/data/instance-id), else
# user-data's INSTANCE_ID.
instance_id_file() {
  local -n _id=$1
  local file="$PODPLANE_ROOT/var/lib/cloud/data/instance-id"
  _id=""
  [[ ! -r "$file" ]] || IFS= read -r _id <"$file" || true
  if [[ -z "$_id" ]]; then
    warn "$file is missing or empty: using INSTANCE_ID from user-data.env as the instance ID"
    _id=${UD[INSTANCE_ID]:-}
  fi
}

# provider_id: INSTANCE_PROVIDER_ID as Podplane derives it: aws:///<zone>/<instance> on aws,
# gce://<project>/<zone>/<instance> on google (zone and instance from `cloud-init query` when
# cloud-init is there, else PROVIDER_ZONE and cloud-init's instance-id file), else cloud-init's
# instance ID.
PROVIDER_ID=""
provider_id() {
  local zone="" id="" answer="" re='^([A-Za-z0-9][A-Za-z0-9_.-]*) ([A-Za-z0-9][A-Za-z0-9_.-]*)$'
  case "${UD[PROVIDER_KIND]}" in
    aws | google)
      if command -v cloud-init >/dev/null 2>&1; then
        answer=$(cloud-init query --format '{{ v1.availability_zone }} {{ v1.instance_id }}' 2>/dev/null) || answer=""
      fi
      # A datasource without the field (NoCloud) renders it as None or null: not an answer.
      if [[ "$answer" =~ $re && "${BASH_REMATCH[1]}" != None && "${BASH_REMATCH[1]}" != null && "${BASH_REMATCH[2]}" != None && "${BASH_REMATCH[2]}" != null ]]; then
        zone=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]}
      else
        zone=${UD[PROVIDER_ZONE]:-}
        instance_id_file id
      fi
      [[ -n "$zone" ]] || die "cannot determine the zone for INSTANCE_PROVIDER_ID: cloud-init query gave none and PROVIDER_ZONE is empty"
      [[ -n "$id" ]] || die "cannot determine the instance ID for INSTANCE_PROVIDER_ID"
      if [[ "${UD[PROVIDER_KIND]}" == aws ]]; then
        PROVIDER_ID="aws:///$zone/$id"
      else
        PROVIDER_ID="gce://${UD[GOOGLE_PROJECT_ID]}/$zone/$id"
      fi
      ;;
    *)
      instance_id_file id
      [[ -n "$id" ]] || die "cannot determine the instance ID for INSTANCE_PROVIDER_ID"
      PROVIDER_ID=$id
      ;;
  esac
}

detect() {
  if [[ -n "${UD[INSTANCE_IPV4]:-}" && -n "${UD[INSTANCE_NETDEV]:-}" ]]; then
    NETDEV=${UD[INSTANCE_NETDEV]} ADDR4=${UD[INSTANCE_IPV4]} ADDR6=${UD[INSTANCE_IPV6]:-}
  else
    wait_for_address
  fi
  host_names
  [[ -n "${UD[INSTANCE_PROVIDER_ID]:-}" ]] || provider_id
  DETECTED=(
    [VMCONFIG_KIND]=$IMAGE_KIND
    [VMCONFIG_BASE_KIND]=node
    [INSTANCE_PROVIDER_ID]=${UD[INSTANCE_PROVIDER_ID]:-$PROVIDER_ID}
    [INSTANCE_IPV4]=${UD[INSTANCE_IPV4]:-$ADDR4}
    [INSTANCE_IPV6]=${UD[INSTANCE_IPV6]-$ADDR6}
    [INSTANCE_NETDEV]=${UD[INSTANCE_NETDEV]:-$NETDEV}
    [INSTANCE_HOSTNAME]=${UD[INSTANCE_HOSTNAME]:-$HOST_SHORT}
    [INSTANCE_FQDN]=${UD[INSTANCE_FQDN]:-$HOST_FQDN}
  )
  [[ -z "${UD[VMCONFIG_KIND]:-}" || "${UD[VMCONFIG_KIND]}" == "$IMAGE_KIND" ]] ||
    die "$USER_DATA_ENV: VMCONFIG_KIND is ${UD[VMCONFIG_KIND]}, but this image is $IMAGE_KIND"
  check_env "detected values" DETECTED
}

# stage_detected: detected.env in Podplane's order, single-quoted, 0600.
stage_detected() {
  local name q text=""
  for name in VMCONFIG_KIND VMCONFIG_BASE_KIND INSTANCE_PROVIDER_ID INSTANCE_IPV4 INSTANCE_IPV6 INSTANCE_NETDEV INSTANCE_HOSTNAME INSTANCE_FQDN; do
    quote_single q "${DETECTED[$name]}"
    text+="$name=$q"$'\n'
  done
  stage_file "$DETECTED_ENV" 0600 "$text"
}

# seed is passed by name to mutable_env_text.
# shellcheck disable=SC2034
stage_mutable_seed() {
  local -A seed=()
  local name text
  for name in "${MUTABLE_NAMES[@]}"; do
    seed[$name]=${UD[$name]:-${MUTABLE_DEFAULT[$name]}}
  done
  mutable_env_text seed text
  stage_file "$MUTABLE_ENV" 0600 "$text"
}

main() {
  load_image_kind
  load_variables
  read_user_data UD
  if [[ -f "$BOOTSTRAP_DONE" ]]; then
    log "$BOOTSTRAP_DONE exists: nothing to do"
    return 0
  fi
  detect
  [[ -d "$PP_ETC" ]] || mkdir -p "$PP_ETC"
  stage_detected
  stage_mutable_seed
  # detected.env and mutable.env first (one mv), the marker last: no marker without both. The
  # marker is written in place (a builtin, no mkdir and mv): only its existence counts, and a
  # marker cut short by a power loss still says that both files were committed.
  commit_staged
  local stamp TZ=UTC
  printf -v stamp '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  umask 077
  printf 'completed_at=%s\n' "$stamp" >"$BOOTSTRAP_DONE"
  umask "$PP_UMASK"
  # The node's own name (just set by user-data) into /etc/hosts now, not at the first API
  # client's start: until then every lookup of it, sudo's included, waits on DNS.
  refresh_hosts || warn "/etc/hosts not refreshed; hosts-refresh.timer and the API clients' starts try again"
  log "detected ${DETECTED[INSTANCE_HOSTNAME]} ${DETECTED[INSTANCE_IPV4]} ${DETECTED[INSTANCE_IPV6]:-no-ipv6} on ${DETECTED[INSTANCE_NETDEV]} (${DETECTED[INSTANCE_PROVIDER_ID]}); seeded $MUTABLE_ENV"
}

main "$@"
