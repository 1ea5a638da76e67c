#!/usr/bin/env bash
# kube-controller-manager on knc: /opt/env/kube-controller-manager.env -> flags. Allocates each
# node's pod CIDRs (one mask size per address family of KUBE_CLUSTER_CIDR) and signs
# service-account tokens with its copy of service-accounts.key.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  local cidrs=${KUBE_CLUSTER_CIDR:-100.64.0.0/10,fd64::/48}
  add_flag --v KUBE_LOG_LEVEL 2
  add_flag --cluster-cidr KUBE_CLUSTER_CIDR 100.64.0.0/10,fd64::/48
  add_flag --service-cluster-ip-range KUBE_SERVICE_CLUSTER_IP_RANGE 198.18.0.0/15,fdc6::/108
  # A mask size for a family the cluster CIDR lacks is an error: pass only the ones in use.
  if [[ ",$cidrs" =~ ,[0-9.]+/ ]]; then add_flag --node-cidr-mask-size-ipv4 KUBE_NODE_CIDR_MASK_SIZE_IPV4 24; fi
  if [[ "$cidrs" == *:* ]]; then add_flag --node-cidr-mask-size-ipv6 KUBE_NODE_CIDR_MASK_SIZE_IPV6 64; fi
  run_binary /usr/local/bin/kube-controller-manager \
    --kubeconfig=/opt/kube-controller-manager/etc/kubeconfig \
    --bind-address=0.0.0.0 \
    --cluster-name=kubernetes \
    --allocate-node-cidrs=true \
    --root-ca-file=/opt/crt/ca.crt \
    --client-ca-file=/opt/crt/ca.crt \
    --service-account-private-key-file=/opt/key/kube-controller-manager/service-accounts.key \
    --use-service-account-credentials=true \
    --leader-elect=true \
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384
}

main "$@"
