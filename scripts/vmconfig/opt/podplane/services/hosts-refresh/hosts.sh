#!/usr/bin/env bash
# The hosts-refresh room's one function, sourced by its run.sh (timer and API clients' starts)
# and by bootstrap.sh (the first configure, right after user-data set the hostname: one process
# fewer on first boot). Needs lib/common.sh. Sourced, never run.
#
# hosts-refresh: keeps two managed blocks in /etc/hosts. Podplane's: kube-apiserver.podplane.internal,
# the name every kubeconfig uses: 127.0.0.1 on knc (its own kube-apiserver), on knd the current
# addresses of KUBE_API_INTERNAL_LB_HOSTNAME (mutable.env, else user-data.env); no block on knd
# without one. And this image's: the node's own name (the instance ID Podplane's user-data
# sets) on 127.0.1.1, Debian's convention: cloud-init renders /etc/hosts with the metadata's
# hostname, not that one, and without a line every `sudo` and every other lookup of the node's
# name goes to DNS (9 s of timeouts per sudo where DNS has no upstream, as in the test VMs).
# /etc/hosts is rewritten in place (same inode) and only when a block changes.

readonly API_NAME=kube-apiserver.podplane.internal
# The API block's markers are Podplane's (vmconfig's configure/hosts.sh), so either finds it.
readonly API_BEGIN="# BEGIN podplane managed kube-apiserver" API_END="# END podplane managed kube-apiserver"
readonly HOSTNAME_BEGIN="# BEGIN podplane managed hostname" HOSTNAME_END="# END podplane managed hostname"

# api_lb_hostname: the internal LB name, mutable.env winning over user-data.env.
api_lb_hostname() {
  local file
  local -A vars=()
  API_LB=""
  for file in "$USER_DATA_ENV" "$MUTABLE_ENV"; do
    [[ -f "$file" ]] || continue
    vars=()
    read_env_file "$file" vars
    [[ -z "${vars[KUBE_API_INTERNAL_LB_HOSTNAME]:-}" ]] || API_LB=${vars[KUBE_API_INTERNAL_LB_HOSTNAME]}
  done
}

# refresh_hosts: both blocks as they should be now, written only when they differ.
refresh_hosts() {
  local hosts="$PODPLANE_ROOT/etc/hosts" line text="" block="" api="" old_api="" skip=0 ip addr
  local -A seen=()
  if [[ -f "$hosts" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" == "$API_BEGIN" || "$line" == "$HOSTNAME_BEGIN" ]]; then
        skip=1
      elif [[ "$line" == "$API_END" || "$line" == "$HOSTNAME_END" ]]; then
        skip=0
      elif ((skip == 0)); then
        text+="$line"$'\n'
      elif [[ "$line" == *" $API_NAME" ]]; then
        old_api+="$line"$'\n'
      fi
    done <"$hosts"
  fi
  host_names
  [[ "$HOST_SHORT" == localhost ]] || block="$HOSTNAME_BEGIN"$'\n'"127.0.1.1 $HOST_FQDN $HOST_SHORT"$'\n'"$HOSTNAME_END"$'\n'
  load_image_kind
  if [[ "$IMAGE_KIND" == knc ]]; then
    api="127.0.0.1 $API_NAME"$'\n'
  else
    api_lb_hostname
    if [[ -n "$API_LB" ]]; then
      if ! check_value hostname "$API_LB"; then
        warn "KUBE_API_INTERNAL_LB_HOSTNAME: $CHECK_REASON; /etc/hosts unchanged"
        return 1
      fi
      # getent ahosts lists each address once per socket type: keep the first of each.
      while read -r ip _; do
        [[ -n "${seen[$ip]+set}" ]] || api+="$ip $API_NAME"$'\n'
        seen[$ip]=1
      done < <(getent ahosts "${API_LB%:*}" || true)
      # An unresolvable name keeps the old API lines: a DNS hiccup must not unmap the API. The
      # timer tries again in 5 minutes; a warning in the journal, not a failed unit, says so.
      if [[ -z "$api" ]]; then
        warn "cannot resolve KUBE_API_INTERNAL_LB_HOSTNAME=$API_LB; its /etc/hosts lines unchanged, retrying on the next timer run"
        api=$old_api
      fi
    fi
  fi
  [[ -z "$api" ]] || block+="$API_BEGIN"$'\n'"$api$API_END"$'\n'
  read_file "$hosts" addr
  [[ "$addr" != "$text$block" ]] || return 0
  printf '%s' "$text$block" >"$hosts"
  log "mapped in /etc/hosts: ${block:-(nothing)}"
}
