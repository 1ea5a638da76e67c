#!/usr/bin/env bats
# The run-wrappers: with the env file configure.sh wrote loaded (as the unit's EnvironmentFile=
# does), each passes the binary its required flags and maps variables to flags.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
  boot knc KUBE_LOG_LEVEL=3 OIDC_ISSUER=https://issuer.example.com NETSY_BUCKET=nb NETSY_ACCESS_KEY_ID=AKID \
    OIDC_CUSTOM_CA=true OIDC_CA_FILE=/etc/ssl/oidc.pem REGISTRY_ENABLED=true REGISTRY_BUCKET=rb \
    REGISTRY_HOSTNAME=registry.example.com REGISTRY_SECRET_ACCESS_KEY=s3cr3t
  local bin
  for bin in usr/local/bin/kube-apiserver usr/local/bin/kubelet usr/local/bin/kube-scheduler \
    usr/local/bin/kube-controller-manager usr/local/bin/containerd usr/local/bin/netsy usr/local/bin/zot \
    usr/local/bin/nstance-agent usr/local/bin/kube2iam opt/fluent-bit/bin/fluent-bit; do
    mkdir -p "$PODPLANE_ROOT/${bin%/*}"
    printf '#!/usr/bin/env bash\nprintf "%%s\\n" "$@" >"%s/args"\nenv >"%s/env"\n' "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >"$PODPLANE_ROOT/$bin"
    chmod +x "$PODPLANE_ROOT/$bin"
  done
}

# run_wrapper SERVICE: runs libexec/run-SERVICE.sh with only the variables of its env file.
run_wrapper() {
  run --separate-stderr env -i PATH="$PATH" PODPLANE_ROOT="$PODPLANE_ROOT" RUNTIME_DIRECTORY="$BATS_TEST_TMPDIR/run-$1" \
    bash -c 'set -a; source "$1"; set +a; exec bash "$2"' _ "$(env_file "$1")" "$VMCONFIG_TREE/opt/podplane/libexec/run-$1.sh"
  [ "$status" -eq 0 ]
  mapfile -t ARGS <"$BATS_TEST_TMPDIR/args"
}

has_arg() {
  local a
  for a in "${ARGS[@]}"; do [[ "$a" == "$1" ]] && return 0; done
  echo "missing $1 in: ${ARGS[*]}" >&2
  return 1
}

@test "kube-apiserver: --etcd-servers defaults to the local netsy; OIDC flags from the env" {
  run_wrapper kube-apiserver
  has_arg --etcd-servers=http://127.0.0.1:2378
  has_arg --oidc-issuer-url=https://issuer.example.com
  has_arg --oidc-ca-file=/etc/ssl/oidc.pem
  has_arg --v=3
  has_arg --advertise-address=10.0.2.15
  has_arg --secure-port=6443
}

@test "kubelet, kube-scheduler, kube-controller-manager, containerd: the stand-ins' required flags" {
  run_wrapper kubelet
  [[ "${ARGS[*]}" == *--config=* ]]
  has_arg --hostname-override=node-1
  has_arg --node-ip=10.0.2.15
  [ -f "$BATS_TEST_TMPDIR/run-kubelet/config.yaml" ]
  run_wrapper kube-scheduler
  [[ "${ARGS[*]}" == *--kubeconfig=* ]]
  run_wrapper kube-controller-manager
  [[ "${ARGS[*]}" == *--kubeconfig=* ]]
  has_arg --cluster-name=c-test
  run_wrapper containerd
  has_arg "--config=$BATS_TEST_TMPDIR/run-containerd/config.toml"
  [ -f "$BATS_TEST_TMPDIR/run-containerd/certs.d/registry.example.com/hosts.toml" ]
}

@test "netsy and zot: credentials go to the environment, never argv" {
  run_wrapper netsy
  has_arg --s3-bucket=nb
  has_arg --listen-addr=127.0.0.1:2378
  not grep -q AKID "$BATS_TEST_TMPDIR/args"
  grep -qx AWS_ACCESS_KEY_ID=AKID "$BATS_TEST_TMPDIR/env"
  run_wrapper zot
  [ "${ARGS[0]}" = serve ]
  [ "$(jq -r .storage.storageDriver.bucket "${ARGS[1]}")" = rb ]
  grep -qx AWS_SECRET_ACCESS_KEY=s3cr3t "$BATS_TEST_TMPDIR/env"
}
