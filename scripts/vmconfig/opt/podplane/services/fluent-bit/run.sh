#!/usr/bin/env bash
# fluent-bit (TELEMETRY_ENABLED=true): runs /opt/fluent-bit/etc/fluent-bit.yaml
# (configure_fluent_bit). Static S3 keys reach it only through the environment, and only when
# no role is assumed (given, or on aws the cluster's telemetry upload role).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  if [[ -n "${TELEMETRY_S3_BUCKET:-}" && -z "${TELEMETRY_S3_ASSUME_ROLE:-}" && "${PROVIDER_KIND:-}" != aws ]]; then
    export_as AWS_ACCESS_KEY_ID TELEMETRY_S3_ACCESS_KEY_ID
    export_as AWS_SECRET_ACCESS_KEY TELEMETRY_S3_SECRET_ACCESS_KEY
  fi
  run_binary /opt/fluent-bit/bin/fluent-bit --config=/opt/fluent-bit/etc/fluent-bit.yaml
}

main "$@"
