#!/usr/bin/env bash
# configure_kube2iam: its kubeconfig (Nstance client certificate kube2iam.client, the API
# through kube-apiserver.podplane.internal). Called by configure.sh with ENV on aws only.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_kube2iam() {
  local kubeconfig
  room_kubeconfig kubeconfig kube2iam
  stage_file "$ROOM_ROOT/opt/kube2iam/etc/kubeconfig" 0640 "$kubeconfig" root:kube2iam
}
