#!/usr/bin/env bash
# zot (REGISTRY_ENABLED=true): serves /opt/zot/etc/config.json (configure_zot). Object storage
# credentials reach it only through the environment: an assumed role (given, or on aws the
# cluster's registry role), else static keys.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  local role=${REGISTRY_ASSUME_ROLE:-}
  if [[ -z "$role" && "${PROVIDER_KIND:-}" == aws ]]; then
    role="arn:aws:iam::${AWS_ACCOUNT_ID:?AWS_ACCOUNT_ID is empty on aws}:role/podplane-${CLUSTER_ID:?}-registry"
  fi
  if [[ -n "$role" ]]; then
    export AWS_SDK_LOAD_CONFIG=1 AWS_ROLE_ARN="$role" AWS_ROLE_SESSION_NAME="${INSTANCE_ID:?}-zot"
  else
    export_as AWS_ACCESS_KEY_ID REGISTRY_ACCESS_KEY_ID
    export_as AWS_SECRET_ACCESS_KEY REGISTRY_SECRET_ACCESS_KEY
  fi
  run_binary /usr/local/bin/zot serve /opt/zot/etc/config.json
}

main "$@"
