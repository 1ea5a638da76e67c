#!/usr/bin/env bash
# Runs kube2iam (aws only) with flags from /opt/env/kube2iam.env.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  add_flag --node NODE_HOSTNAME
  add_flag --host-ip NODE_IPV4
  run_binary /usr/local/bin/kube2iam --app-port=8181 --host-interface=cni0 --iptables=true \
    --auto-discover-base-arn --auto-discover-default-role
}

main "$@"
