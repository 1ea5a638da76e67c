#!/usr/bin/env bash
# configure_kubelet: /opt/kubelet/etc/kubelet.yaml (KubeletConfiguration) and the kubelet's
# kubeconfig (its Nstance client certificate, the API through kube-apiserver.podplane.internal).
# Called by configure.sh with the merged variables in ENV; writes only through stage_file.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_kubelet() {
  local dns text kubeconfig
  room_list dns "${ENV[KUBE_CLUSTER_DNS]:-198.19.255.254,fdc6::ffff}"
  text="apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
contentType: application/json
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: /opt/crt/ca.crt
authorization:
  mode: AlwaysAllow
tlsCertFile: /opt/crt/kubelet.server.crt
tlsPrivateKeyFile: /opt/key/kubelet/kubelet.server.key
tlsMinVersion: VersionTLS13
readOnlyPort: 0
cgroupDriver: systemd
failCgroupV1: true
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS: $dns
clusterDomain: cluster.local
shutdownGracePeriod: 30s
shutdownGracePeriodCriticalPods: 10s
serializeImagePulls: false
registryPullQPS: 10
registryBurst: 20
maxPods: 110
kubeReserved:
  cpu: 200m
  memory: 256Mi
systemReserved:
  cpu: 200m
  memory: 256Mi
evictionHard:
  memory.available: 50Mi
  nodefs.available: 5%
  nodefs.inodesFree: 2%
  imagefs.available: 5%
evictionSoft:
  memory.available: 100Mi
  nodefs.available: 10%
  nodefs.inodesFree: 5%
  imagefs.available: 10%
evictionSoftGracePeriod:
  memory.available: 30s
  nodefs.available: 30s
  nodefs.inodesFree: 30s
  imagefs.available: 30s
evictionPressureTransitionPeriod: 1m
"
  room_kubeconfig kubeconfig kubelet
  stage_file "$ROOM_ROOT/opt/kubelet/etc/kubelet.yaml" 0600 "$text" root:root
  stage_file "$ROOM_ROOT/opt/kubelet/etc/kubeconfig" 0600 "$kubeconfig" root:root
}
