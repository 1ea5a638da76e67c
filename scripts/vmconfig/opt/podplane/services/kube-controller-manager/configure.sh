#!/usr/bin/env bash
# configure_kube_controller_manager: its kubeconfig (Nstance client certificate, the API
# through kube-apiserver.podplane.internal). Called by configure.sh with ENV; stage_file only.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_kube_controller_manager() {
  local kubeconfig
  room_kubeconfig kubeconfig kube-controller-manager
  stage_file "$ROOM_ROOT/opt/kube-controller-manager/etc/kubeconfig" 0640 "$kubeconfig" root:kube-controller-manager
}
