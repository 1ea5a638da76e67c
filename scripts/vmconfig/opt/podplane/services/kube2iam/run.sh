#!/usr/bin/env bash
# kube2iam (PROVIDER_KIND=aws): /opt/env/kube2iam.env -> flags; watches the pods of this node
# (named by its instance ID, as the kubelet registers it) through its own kubeconfig.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  export_as AWS_REGION PROVIDER_REGION
  add_flag --host-ip INSTANCE_IPV4
  add_flag --node INSTANCE_ID
  run_binary /usr/local/bin/kube2iam \
    --app-port=8181 --metrics-port=8182 \
    --auto-discover-base-arn=true \
    --host-interface=lxc+ --iptables=true \
    --log-level=info \
    --namespace-restrictions=true \
    --use-regional-sts-endpoint=true \
    --kubeconfig=/opt/kube2iam/etc/kubeconfig
}

main "$@"
