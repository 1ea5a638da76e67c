#!/usr/bin/env bash
# kube-apiserver on knc: /opt/env/kube-apiserver.env -> flags. Certificates from /opt/crt,
# keys from /opt/key/kube-apiserver (Nstance deliveries); etcd is the local netsy over TLS.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

readonly CA=/opt/crt/ca.crt KEYS=/opt/key/kube-apiserver

main() {
  local issuer
  add_flag --v KUBE_LOG_LEVEL 2
  add_flag --service-cluster-ip-range KUBE_SERVICE_CLUSTER_IP_RANGE 198.18.0.0/15,fdc6::/108
  add_flag --external-hostname KUBE_API_PUBLIC_HOSTNAME
  add_flag --secure-port KUBE_API_PORT 6443
  add_flag --etcd-servers KUBE_API_ETCD_SERVERS https://127.0.0.1:2378
  # The issuer must be stable and reachable by token consumers: the explicit one, else the
  # public API name, else the in-cluster name (kube-apiserver refuses to start without one).
  issuer=${KUBE_SERVICE_ACCOUNT_ISSUER:-}
  [[ -n "$issuer" || -z "${KUBE_API_PUBLIC_HOSTNAME:-}" ]] || issuer="https://$KUBE_API_PUBLIC_HOSTNAME"
  issuer=${issuer:-https://kubernetes.default.svc}
  ARGS+=("--service-account-issuer=$issuer" "--service-account-jwks-uri=${issuer%/}/openid/v1/jwks")
  if [[ -n "${OIDC_ISSUER:-}" ]]; then
    # kube-apiserver refuses --oidc-issuer-url without a client ID: the cluster ID, so a
    # token is only good for the cluster it was issued for.
    add_flag --oidc-issuer-url OIDC_ISSUER
    add_flag --oidc-client-id CLUSTER_ID
    ARGS+=(--oidc-username-claim=email --oidc-username-prefix= --oidc-groups-claim=groups --oidc-groups-prefix=)
    add_flag --oidc-signing-algs OIDC_SIGNING_ALGS RS256
    add_flag --oidc-ca-file OIDC_CA_FILE_EFFECTIVE
  fi
  run_binary /usr/local/bin/kube-apiserver \
    --goaway-chance=0 \
    --etcd-compaction-interval=0 --watch-cache=false \
    --etcd-healthcheck-timeout=5s --etcd-readycheck-timeout=5s \
    --etcd-cafile="$CA" --etcd-certfile=/opt/crt/kube-apiserver.client.crt --etcd-keyfile="$KEYS/kube-apiserver.client.key" \
    --service-account-key-file=/opt/pub/service-accounts.pub \
    --service-account-signing-key-file="$KEYS/service-accounts.key" \
    --client-ca-file="$CA" \
    --tls-cert-file=/opt/crt/kube-apiserver.server.crt --tls-private-key-file="$KEYS/kube-apiserver.server.key" \
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384 \
    --kubelet-client-certificate=/opt/crt/kube-apiserver.client.crt --kubelet-client-key="$KEYS/kube-apiserver.client.key" \
    --kubelet-certificate-authority="$CA" \
    --kubelet-preferred-address-types=InternalIP,InternalDNS \
    --proxy-client-cert-file=/opt/crt/front-proxy.client.crt --proxy-client-key-file="$KEYS/front-proxy.client.key" \
    --requestheader-client-ca-file="$CA" --requestheader-allowed-names=front-proxy-client \
    --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group \
    --requestheader-uid-headers=X-Remote-Uid --requestheader-username-headers=X-Remote-User \
    --anonymous-auth=false \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,NamespaceExists,OwnerReferencesPermissionEnforcement \
    --allow-privileged=true
}

main "$@"
