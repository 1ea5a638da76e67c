#!/usr/bin/env bash
# Runs zot (REGISTRY_ENABLED=true) with a config written from /opt/env/zot.env: storage in the registry bucket.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  local dir storage q
  runtime_dir zot
  dir=$RUN_DIR
  storage="{\"rootDirectory\": \"/var/lib/zot\", \"dedupe\": false"
  if [[ -n "${REGISTRY_BUCKET:-}" ]]; then
    json_string -v q "${REGISTRY_BUCKET}"
    storage+=", \"storageDriver\": {\"name\": \"s3\", \"bucket\": $q"
    json_string -v q "${REGISTRY_REGION:-}"
    storage+=", \"region\": $q"
    if [[ -n "${REGISTRY_ENDPOINT:-}" ]]; then
      json_string -v q "${REGISTRY_ENDPOINT}"
      storage+=", \"regionendpoint\": $q"
    fi
    [[ "${AWS_S3_USE_PATH_STYLE:-false}" != true ]] || storage+=", \"forcepathstyle\": true"
    storage+=", \"secure\": true}"
  fi
  storage+="}"
  printf '{"distSpecVersion": "1.1.1", "storage": %s, "http": {"address": "127.0.0.1", "port": "5000"}, "log": {"level": "info"}}\n' \
    "$storage" >"$dir/config.json"
  export_as AWS_ACCESS_KEY_ID REGISTRY_ACCESS_KEY_ID
  export_as AWS_SECRET_ACCESS_KEY REGISTRY_SECRET_ACCESS_KEY
  export_as AWS_ROLE_ARN REGISTRY_ASSUME_ROLE
  run_binary /usr/local/bin/zot serve "$dir/config.json"
}

main "$@"
