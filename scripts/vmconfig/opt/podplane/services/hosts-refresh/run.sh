#!/usr/bin/env bash
# hosts-refresh: keeps one managed block in /etc/hosts mapping kube-apiserver.podplane.internal,
# the name every kubeconfig uses: 127.0.0.1 on knc (its own kube-apiserver), on knd the current
# addresses of KUBE_API_INTERNAL_LB_HOSTNAME (mutable.env, else user-data.env); no block on knd
# without one. /etc/hosts is rewritten in place (same inode) and only when the block changes.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../../lib/common.sh"

readonly NAME=kube-apiserver.podplane.internal
readonly BEGIN="# BEGIN podplane managed kube-apiserver" END="# END podplane managed kube-apiserver"

# lb_hostname: the internal LB name, mutable.env winning over user-data.env.
lb_hostname() {
  local file
  local -A vars=()
  LB=""
  for file in "$USER_DATA_ENV" "$MUTABLE_ENV"; do
    [[ -f "$file" ]] || continue
    vars=()
    read_env_file "$file" vars
    [[ -z "${vars[KUBE_API_INTERNAL_LB_HOSTNAME]:-}" ]] || LB=${vars[KUBE_API_INTERNAL_LB_HOSTNAME]}
  done
}

main() {
  local hosts="$PODPLANE_ROOT/etc/hosts" line text="" block="" skip=0 ip addr
  local -A seen=()
  load_image_kind
  if [[ "$IMAGE_KIND" == knc ]]; then
    block="127.0.0.1 $NAME"$'\n'
  else
    lb_hostname
    if [[ -n "$LB" ]]; then
      check_value hostname "$LB" || die "KUBE_API_INTERNAL_LB_HOSTNAME: $CHECK_REASON"
      # getent ahosts lists each address once per socket type: keep the first of each.
      while read -r ip _; do
        [[ -n "${seen[$ip]+set}" ]] || block+="$ip $NAME"$'\n'
        seen[$ip]=1
      done < <(getent ahosts "${LB%:*}" || true)
      # An unresolvable name keeps the old block: a DNS hiccup must not unmap the API. The timer
      # tries again in 5 minutes; a warning in the journal, not a failed unit, says so.
      if [[ -z "$block" ]]; then
        warn "cannot resolve KUBE_API_INTERNAL_LB_HOSTNAME=$LB; /etc/hosts unchanged, retrying on the next timer run"
        exit 0
      fi
    fi
  fi
  [[ -z "$block" ]] || block="$BEGIN"$'\n'"$block$END"$'\n'
  if [[ -f "$hosts" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" == "$BEGIN" ]]; then skip=1; elif [[ "$line" == "$END" ]]; then skip=0; elif ((skip == 0)); then text+="$line"$'\n'; fi
    done <"$hosts"
  fi
  read_file "$hosts" addr
  [[ "$addr" != "$text$block" ]] || exit 0
  printf '%s' "$text$block" >"$hosts"
  log "mapped $NAME: ${block:-(removed)}"
}

main "$@"
