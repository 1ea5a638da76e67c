#!/usr/bin/env bash
# kube-scheduler on knc: its KubeSchedulerConfiguration (configure_kube_scheduler) names the
# kubeconfig; the env file only sets the log level.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  add_flag --v KUBE_LOG_LEVEL 2
  run_binary /usr/local/bin/kube-scheduler \
    --config=/opt/kube-scheduler/etc/kube-scheduler.yaml \
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384 \
    --tls-cert-file=/opt/crt/kube-scheduler.client.crt \
    --tls-private-key-file=/opt/key/kube-scheduler/kube-scheduler.client.key
}

main "$@"
