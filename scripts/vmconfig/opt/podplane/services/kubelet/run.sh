#!/usr/bin/env bash
# kubelet: /opt/env/kubelet.env -> flags. The node name is the instance ID, as in the CN of
# its Nstance certificate (system:node:<id>); the rest is in the KubeletConfiguration that
# configure_kubelet wrote (configure.sh).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  local labels=""
  [[ -z "${PROVIDER_INSTANCE_TYPE:-}" ]] || labels+=",node.kubernetes.io/instance-type=$PROVIDER_INSTANCE_TYPE"
  [[ -z "${PROVIDER_REGION:-}" ]] || labels+=",topology.kubernetes.io/region=$PROVIDER_REGION"
  [[ -z "${PROVIDER_ZONE:-}" ]] || labels+=",topology.kubernetes.io/zone=$PROVIDER_ZONE"
  add_flag --hostname-override INSTANCE_ID
  # Dual-stack when the instance has an IPv6 address.
  ARGS+=("--node-ip=${INSTANCE_IPV4:?INSTANCE_IPV4 is empty in /opt/env/kubelet.env}${INSTANCE_IPV6:+,$INSTANCE_IPV6}")
  [[ -z "$labels" ]] || ARGS+=("--node-labels=${labels#,}")
  add_flag --provider-id INSTANCE_PROVIDER_ID
  add_flag --v KUBE_LOG_LEVEL 2
  run_binary /usr/local/bin/kubelet --config=/opt/kubelet/etc/kubelet.yaml --kubeconfig=/opt/kubelet/etc/kubeconfig
}

main "$@"
