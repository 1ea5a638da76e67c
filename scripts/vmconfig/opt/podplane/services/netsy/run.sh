#!/usr/bin/env bash
# netsy on knc: configured only through its environment (NETSY_*, AWS_*) and the cluster
# config file configure_netsy wrote; it takes no flags. Clients (kube-apiserver) reach it on
# port 2378 with TLS and a client certificate; peers on 2381, elections on 8443.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  local ip=${INSTANCE_IPV4:?INSTANCE_IPV4 is empty in /opt/env/netsy.env} role=${NETSY_ASSUME_ROLE:-}
  export NETSY_CONFIG=/opt/netsy/etc/cluster.jsonc NETSY_DATA_DIR=/var/lib/netsy NETSY_DEBUG=false
  # The node ID must be the CN of its certificates: the instance ID.
  export_as NETSY_NODE_ID INSTANCE_ID
  export NETSY_BIND_CLIENT=0.0.0.0:2378 NETSY_ADVERTISE_CLIENT="$ip:2378"
  export NETSY_BIND_PEER=0.0.0.0:2381 NETSY_ADVERTISE_PEER="$ip:2381"
  export NETSY_BIND_ELECTION=0.0.0.0:8443 NETSY_ADVERTISE_ELECTION="$ip:8443"
  export NETSY_BIND_HEALTH=0.0.0.0:8080
  export NETSY_TLS_CA_CERT=/opt/crt/ca.crt
  export NETSY_TLS_SERVER_CERT=/opt/crt/netsy.server.crt NETSY_TLS_SERVER_KEY=/opt/key/netsy/netsy.server.key
  export NETSY_TLS_CLIENT_CERT=/opt/crt/netsy.client.crt NETSY_TLS_CLIENT_KEY=/opt/key/netsy/netsy.client.key
  export_as AWS_DEFAULT_REGION NETSY_REGION "${PROVIDER_REGION:-}"
  export_as AWS_ENDPOINT_URL NETSY_ENDPOINT
  case "${PROVIDER_KIND:-}" in
    local | proxmox) export AWS_S3_USE_PATH_STYLE=true ;;
    *) [[ "${AWS_S3_USE_PATH_STYLE:-}" != true ]] || export AWS_S3_USE_PATH_STYLE=true ;;
  esac
  if [[ -z "$role" && "${PROVIDER_KIND:-}" == aws ]]; then
    role="arn:aws:iam::${AWS_ACCOUNT_ID:?AWS_ACCOUNT_ID is empty on aws}:role/podplane-${CLUSTER_ID:?}-netsy"
  fi
  if [[ -n "$role" ]]; then
    export AWS_ROLE_ARN="$role" AWS_ROLE_SESSION_NAME="${INSTANCE_ID:?}-netsy"
  else
    export_as AWS_ACCESS_KEY_ID NETSY_ACCESS_KEY_ID
    export_as AWS_SECRET_ACCESS_KEY NETSY_SECRET_ACCESS_KEY
  fi
  run_binary /usr/local/bin/netsy
}

main "$@"
