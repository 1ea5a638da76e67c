#!/usr/bin/env bash
# Runs containerd with a config written from /opt/env/containerd.env (a pull-through mirror for REGISTRY_HOSTNAME when REGISTRY_ENABLED=true).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  local dir
  dir=$(runtime_dir containerd)
  mkdir -p "$dir/certs.d"
  if [[ "${REGISTRY_ENABLED:-false}" == true && -n "${REGISTRY_HOSTNAME:-}" ]]; then
    mkdir -p "$dir/certs.d/${REGISTRY_HOSTNAME}"
    printf 'server = %s\n\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n' \
      "$(json_string "https://${REGISTRY_HOSTNAME}")" >"$dir/certs.d/${REGISTRY_HOSTNAME}/hosts.toml"
  fi
  printf 'version = 3\n\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = %s\n' \
    "$(json_string "$dir/certs.d")" >"$dir/config.toml"
  run_binary /usr/local/bin/containerd --config="$dir/config.toml"
}

main "$@"
