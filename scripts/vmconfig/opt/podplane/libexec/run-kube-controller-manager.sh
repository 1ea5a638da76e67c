#!/usr/bin/env bash
# Runs kube-controller-manager with flags from /opt/env/kube-controller-manager.env.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  add_flag --cluster-name CLUSTER_ID
  add_flag --v KUBE_LOG_LEVEL
  run_binary /usr/local/bin/kube-controller-manager \
    --kubeconfig=/opt/podplane/etc/config/kube-controller-manager/kubeconfig --leader-elect=true
}

main "$@"
