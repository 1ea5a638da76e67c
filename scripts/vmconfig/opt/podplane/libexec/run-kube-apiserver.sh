#!/usr/bin/env bash
# Runs kube-apiserver with flags from /opt/env/kube-apiserver.env; --etcd-servers defaults to the local netsy.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

readonly PKI=/opt/podplane/etc/config/kube-apiserver

main() {
  add_flag --etcd-servers KUBE_API_ETCD_SERVERS http://127.0.0.1:2378
  add_flag --secure-port KUBE_API_PORT
  add_flag --advertise-address NODE_IPV4
  add_flag --external-hostname KUBE_API_PUBLIC_HOSTNAME
  add_flag --oidc-issuer-url OIDC_ISSUER
  add_flag_if OIDC_CUSTOM_CA --oidc-ca-file OIDC_CA_FILE
  add_flag --v KUBE_LOG_LEVEL
  run_binary /usr/local/bin/kube-apiserver \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" --service-account-issuer=https://kubernetes.default.svc
}

main "$@"
