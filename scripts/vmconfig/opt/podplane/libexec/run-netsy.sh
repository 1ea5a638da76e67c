#!/usr/bin/env bash
# Runs netsy (the etcd API on 127.0.0.1:2378 backed by object storage) with flags from /opt/env/netsy.env.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  add_flag --s3-endpoint NETSY_ENDPOINT
  add_flag --s3-bucket NETSY_BUCKET
  add_flag --s3-region NETSY_REGION
  add_flag --s3-assume-role NETSY_ASSUME_ROLE
  add_flag --s3-path-style AWS_S3_USE_PATH_STYLE
  add_flag --s3-prefix CLUSTER_ID
  export_as AWS_ACCESS_KEY_ID NETSY_ACCESS_KEY_ID
  export_as AWS_SECRET_ACCESS_KEY NETSY_SECRET_ACCESS_KEY
  run_binary /usr/local/bin/netsy --listen-addr=127.0.0.1:2378 --data-dir=/var/lib/netsy
}

main "$@"
