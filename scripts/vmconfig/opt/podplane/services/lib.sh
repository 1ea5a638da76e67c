#!/usr/bin/env bash
# Shared by the rooms' config writers (services/<svc>/configure.sh), which configure.sh sources
# and calls with the merged variables in the associative array ENV. Only builtins here: the
# writers run on every configure pass, and the no-op pass must not fork. Sourced, never run.

# configure.sh sources every applying room's configure.sh, and each sources this file: once is enough
# (and the readonly below cannot be set twice).
[[ -z "${ROOM_LIB_LOADED:-}" ]] || return 0
ROOM_LIB_LOADED=1

# Where the rooms' files live inside a test root (empty on a VM); the writers read it.
# shellcheck disable=SC2034
ROOM_ROOT=${PODPLANE_ROOT:-}

# API server name every node resolves through the hosts-refresh room's /etc/hosts entry.
readonly KUBE_API_INTERNAL_NAME=kube-apiserver.podplane.internal

# room_quote VAR VALUE: VALUE as a double-quoted string literal that JSON, YAML and TOML all
# read the same (values reach here free of control characters: configure.sh checks them).
room_quote() {
  local _rq=${2//\\/\\\\}
  printf -v "$1" '"%s"' "${_rq//\"/\\\"}"
}

# A writer does not make its directories: stage_file's commit makes any that is missing (0755),
# all in the one mkdir that creates the staging directories.

# room_kubeconfig VAR NAME: the kubeconfig of a client whose certificate Nstance delivers as
# /opt/crt/NAME.client.crt (key in /opt/key/NAME/), talking to the API through the internal name.
room_kubeconfig() {
  local -n _kc=$1
  local name=$2 server
  room_quote server "https://$KUBE_API_INTERNAL_NAME:${ENV[KUBE_API_PORT]:-6443}"
  _kc="apiVersion: v1
kind: Config
clusters:
  - name: podplane
    cluster:
      server: $server
      certificate-authority: /opt/crt/ca.crt
users:
  - name: $name
    user:
      client-certificate: /opt/crt/$name.client.crt
      client-key: /opt/key/$name/$name.client.key
contexts:
  - name: $name
    context:
      cluster: podplane
      user: $name
current-context: $name
"
}

# room_list VAR CSV: a comma-separated value as a flow list of quoted strings: ["a", "b"].
room_list() {
  local -n _rl=$1
  local item q
  local -a items
  IFS=, read -r -a items <<<"$2"
  _rl=""
  for item in "${items[@]}"; do
    [[ -n "$item" ]] || continue
    room_quote q "$item"
    _rl+="${_rl:+, }$q"
  done
  _rl="[$_rl]"
}
