#!/usr/bin/env bash
# Runs containerd with a config written from /opt/env/containerd.env (a pull-through mirror for REGISTRY_HOSTNAME when REGISTRY_ENABLED=true).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  local dir q
  runtime_dir containerd
  dir=$RUN_DIR
  [[ -d "$dir/certs.d" ]] || mkdir "$dir/certs.d"
  if [[ "${REGISTRY_ENABLED:-false}" == true && -n "${REGISTRY_HOSTNAME:-}" ]]; then
    [[ -d "$dir/certs.d/${REGISTRY_HOSTNAME}" ]] || mkdir "$dir/certs.d/${REGISTRY_HOSTNAME}"
    json_string -v q "https://${REGISTRY_HOSTNAME}"
    printf 'server = %s\n\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n' \
      "$q" >"$dir/certs.d/${REGISTRY_HOSTNAME}/hosts.toml"
  fi
  json_string -v q "$dir/certs.d"
  printf 'version = 3\n\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = %s\n' \
    "$q" >"$dir/config.toml"
  run_binary /usr/local/bin/containerd --config="$dir/config.toml"
}

main "$@"
