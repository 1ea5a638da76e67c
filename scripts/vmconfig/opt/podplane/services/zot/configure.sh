#!/usr/bin/env bash
# configure_zot: /opt/zot/etc/config.json. TLS with the registry.server certificate, mTLS
# against the cluster CA (identity = the client certificate's CN), read-only access for
# containerd's client identity, storage in the registry bucket (s3, gcs on google). Called by
# configure.sh with ENV while REGISTRY_ENABLED=true; stage_file only.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_zot() {
  local kind=${ENV[PROVIDER_KIND]:-} region=${ENV[REGISTRY_REGION]:-${ENV[PROVIDER_REGION]:-}}
  local endpoint=${ENV[REGISTRY_ENDPOINT]:-} driver q secure=true address='"127.0.0.1"'
  [[ -n "$endpoint" || "$kind" != aws ]] || endpoint="s3.$region.amazonaws.com"
  room_quote q "${ENV[REGISTRY_BUCKET]:-}"
  if [[ "$kind" == google ]]; then
    driver="{\"name\": \"gcs\", \"bucket\": $q}"
  else
    [[ "$endpoint" != http://* ]] || secure=false
    driver="{\"name\": \"s3\", \"bucket\": $q"
    room_quote q "$region"
    driver+=", \"region\": $q, \"secure\": $secure, \"skipverify\": false"
    if [[ -n "$endpoint" ]]; then
      room_quote q "$endpoint"
      driver+=", \"regionendpoint\": $q"
    fi
    [[ "${ENV[AWS_S3_USE_PATH_STYLE]:-}" != true ]] || driver+=", \"forcepathstyle\": true"
    driver+="}"
  fi
  # containerd's hosts.toml points at the same loopback address (configure_containerd).
  [[ -z "${ENV[INSTANCE_IPV6]:-}" ]] || address='"::1"'
  stage_file "$ROOM_ROOT/opt/zot/etc/config.json" 0640 "{
  \"distSpecVersion\": \"1.1.1\",
  \"storage\": {\"rootDirectory\": \"/var/lib/zot\", \"dedupe\": false, \"storageDriver\": $driver},
  \"http\": {
    \"address\": $address,
    \"port\": \"5000\",
    \"tls\": {\"cert\": \"/opt/crt/registry.server.crt\", \"key\": \"/opt/key/registry/registry.server.key\", \"cacert\": \"/opt/crt/ca.crt\"},
    \"auth\": {\"mtls\": {\"identityAttributes\": [\"CommonName\"]}},
    \"accessControl\": {\"repositories\": {\"**\": {\"policies\": [{\"users\": [\"containerd.client\"], \"actions\": [\"read\"]}]}}}
  },
  \"log\": {\"level\": \"info\"}
}
" root:zot
}
