#!/usr/bin/env bash
# Runs kube-scheduler with flags from /opt/env/kube-scheduler.env.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  add_flag --v KUBE_LOG_LEVEL
  run_binary /usr/local/bin/kube-scheduler \
    --kubeconfig=/opt/podplane/etc/config/kube-scheduler/kubeconfig --leader-elect=true
}

main "$@"
