#!/usr/bin/env bash
# configure_kube_scheduler: /opt/kube-scheduler/etc/kube-scheduler.yaml
# (KubeSchedulerConfiguration) and the kubeconfig it names. Called by configure.sh with ENV.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_kube_scheduler() {
  local kubeconfig
  room_kubeconfig kubeconfig kube-scheduler
  stage_file "$ROOM_ROOT/opt/kube-scheduler/etc/kube-scheduler.yaml" 0640 "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /opt/kube-scheduler/etc/kubeconfig
leaderElection:
  leaderElect: true
" root:kube-scheduler
  stage_file "$ROOM_ROOT/opt/kube-scheduler/etc/kubeconfig" 0640 "$kubeconfig" root:kube-scheduler
}
