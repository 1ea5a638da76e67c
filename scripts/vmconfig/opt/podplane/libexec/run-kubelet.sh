#!/usr/bin/env bash
# Runs kubelet with flags from /opt/env/kubelet.env, a generated KubeletConfiguration and a bootstrap kubeconfig for the internal API load balancer.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  local dir q
  runtime_dir kubelet
  dir=$RUN_DIR
  printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\ncontainerRuntimeEndpoint: unix:///run/containerd/containerd.sock\nauthentication:\n  anonymous:\n    enabled: false\n' >"$dir/config.yaml"
  if [[ -n "${KUBE_API_INTERNAL_LB_HOSTNAME:-}" ]]; then
    json_string -v q "https://${KUBE_API_INTERNAL_LB_HOSTNAME}:${KUBE_API_PORT:-6443}"
    printf 'apiVersion: v1\nkind: Config\nclusters:\n  - name: podplane\n    cluster:\n      server: %s\n      certificate-authority: /opt/podplane/etc/config/kubelet/ca.crt\n' \
      "$q" >"$dir/bootstrap-kubeconfig"
    ARGS+=("--bootstrap-kubeconfig=$dir/bootstrap-kubeconfig")
  fi
  add_flag --hostname-override NODE_HOSTNAME
  add_flag --node-ip NODE_IPV4
  add_flag --v KUBE_LOG_LEVEL
  run_binary /usr/local/bin/kubelet --config="$dir/config.yaml" \
    --kubeconfig=/opt/podplane/etc/config/kubelet/kubeconfig
}

main "$@"
