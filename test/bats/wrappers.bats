#!/usr/bin/env bats
# The rooms' run.sh: given the variables of its env file (as the unit's EnvironmentFile= loads
# them) and nothing else, each execs its binary at the install path with exactly the expected
# argv and environment. The binary is a stub under PODPLANE_ROOT that records both.

bats_require_minimum_version 1.5.0

ROOMS="$(cd "${BATS_TEST_DIRNAME}/../../scripts/vmconfig/opt/podplane/services" && pwd)"

setup() {
  export PODPLANE_ROOT="$BATS_TEST_TMPDIR/root"
  local bin
  for bin in usr/local/bin/kube-apiserver usr/local/bin/kubelet usr/local/bin/kube-scheduler \
    usr/local/bin/kube-controller-manager usr/local/bin/containerd usr/local/bin/netsy usr/local/bin/zot \
    usr/local/bin/nstance-agent usr/local/bin/kube2iam opt/fluent-bit/bin/fluent-bit; do
    mkdir -p "$PODPLANE_ROOT/${bin%/*}"
    printf '#!/usr/bin/env bash\nprintf "%%s\\n" "$0" "$@" >"%s/argv"\nenv | sort >"%s/env"\n' \
      "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >"$PODPLANE_ROOT/$bin"
    chmod +x "$PODPLANE_ROOT/$bin"
  done
}

# run_room SERVICE [NAME=value ...]: the room's run.sh with only those variables set.
run_room() {
  local svc=$1
  shift
  run --separate-stderr env -i PATH="$PATH" PODPLANE_ROOT="$PODPLANE_ROOT" "$@" bash "$ROOMS/$svc/run.sh"
  if [ "$status" -ne 0 ]; then
    echo "$stderr" >&2
    return 1
  fi
  mapfile -t ARGV <"$BATS_TEST_TMPDIR/argv"
}

# expect_argv BINARY ARG...: the recorded argv, exactly.
expect_argv() {
  local want got
  want=$(printf '%s\n' "$PODPLANE_ROOT$1" "${@:2}")
  got=$(printf '%s\n' "${ARGV[@]}")
  if [[ "$got" != "$want" ]]; then
    diff <(echo "$want") <(echo "$got") >&2 || true
    return 1
  fi
}

env_has() { grep -qxF -- "$1" "$BATS_TEST_TMPDIR/env" || { echo "missing env $1" >&2 && return 1; }; }
env_lacks() { ! grep -q -- "^$1=" "$BATS_TEST_TMPDIR/env" || { echo "unexpected env $1" >&2 && return 1; }; }

@test "kube-apiserver: Podplane's flags; OIDC with client ID, algs and CA only when OIDC_ISSUER is set" {
  local fixed=(--goaway-chance=0 --etcd-compaction-interval=0 --watch-cache=false
    --etcd-healthcheck-timeout=5s --etcd-readycheck-timeout=5s
    --etcd-cafile=/opt/crt/ca.crt --etcd-certfile=/opt/crt/kube-apiserver.client.crt
    --etcd-keyfile=/opt/key/kube-apiserver/kube-apiserver.client.key
    --service-account-key-file=/opt/pub/service-accounts.pub
    --service-account-signing-key-file=/opt/key/kube-apiserver/service-accounts.key
    --client-ca-file=/opt/crt/ca.crt
    --tls-cert-file=/opt/crt/kube-apiserver.server.crt --tls-private-key-file=/opt/key/kube-apiserver/kube-apiserver.server.key
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384
    --kubelet-client-certificate=/opt/crt/kube-apiserver.client.crt
    --kubelet-client-key=/opt/key/kube-apiserver/kube-apiserver.client.key
    --kubelet-certificate-authority=/opt/crt/ca.crt
    --kubelet-preferred-address-types=InternalIP,InternalDNS
    --proxy-client-cert-file=/opt/crt/front-proxy.client.crt --proxy-client-key-file=/opt/key/kube-apiserver/front-proxy.client.key
    --requestheader-client-ca-file=/opt/crt/ca.crt --requestheader-allowed-names=front-proxy-client
    --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group
    --requestheader-uid-headers=X-Remote-Uid --requestheader-username-headers=X-Remote-User
    --anonymous-auth=false --authorization-mode=Node,RBAC
    --enable-admission-plugins=NodeRestriction,NamespaceExists,OwnerReferencesPermissionEnforcement
    --allow-privileged=true)
  run_room kube-apiserver KUBE_LOG_LEVEL= KUBE_API_PUBLIC_HOSTNAME=api.example.com OIDC_ISSUER= CLUSTER_ID=c1
  expect_argv /usr/local/bin/kube-apiserver "${fixed[@]}" --v=2 --service-cluster-ip-range=198.18.0.0/15,fdc6::/108 \
    --external-hostname=api.example.com --secure-port=6443 --etcd-servers=https://127.0.0.1:2378 \
    --service-account-issuer=https://api.example.com --service-account-jwks-uri=https://api.example.com/openid/v1/jwks

  run_room kube-apiserver KUBE_LOG_LEVEL=4 KUBE_SERVICE_CLUSTER_IP_RANGE=10.96.0.0/12 KUBE_API_PORT=8443 \
    KUBE_API_ETCD_SERVERS=https://10.0.0.5:2378 KUBE_SERVICE_ACCOUNT_ISSUER=https://sa.example.com:8443 \
    OIDC_ISSUER=https://id.example.com CLUSTER_ID=c1 OIDC_SIGNING_ALGS=RS256,ES256 OIDC_CA_FILE_EFFECTIVE=/opt/crt/oidc-ca.pem
  expect_argv /usr/local/bin/kube-apiserver "${fixed[@]}" --v=4 --service-cluster-ip-range=10.96.0.0/12 \
    --secure-port=8443 --etcd-servers=https://10.0.0.5:2378 \
    --service-account-issuer=https://sa.example.com:8443 --service-account-jwks-uri=https://sa.example.com:8443/openid/v1/jwks \
    --oidc-issuer-url=https://id.example.com --oidc-client-id=c1 --oidc-username-claim=email --oidc-username-prefix= \
    --oidc-groups-claim=groups --oidc-groups-prefix= --oidc-signing-algs=RS256,ES256 --oidc-ca-file=/opt/crt/oidc-ca.pem
}

@test "kubelet: node name = instance ID, provider ID, dual-stack node IP, topology labels" {
  run_room kubelet INSTANCE_ID=i-0abc INSTANCE_IPV4=10.0.0.7 INSTANCE_IPV6=2001:db8::7 \
    INSTANCE_PROVIDER_ID=aws:///us-east-1a/i-0abc PROVIDER_INSTANCE_TYPE=m7g.large PROVIDER_REGION=us-east-1 \
    PROVIDER_ZONE=us-east-1a KUBE_LOG_LEVEL=3
  expect_argv /usr/local/bin/kubelet --config=/opt/kubelet/etc/kubelet.yaml --kubeconfig=/opt/kubelet/etc/kubeconfig \
    --hostname-override=i-0abc --node-ip=10.0.0.7,2001:db8::7 \
    --node-labels=node.kubernetes.io/instance-type=m7g.large,topology.kubernetes.io/region=us-east-1,topology.kubernetes.io/zone=us-east-1a \
    --provider-id=aws:///us-east-1a/i-0abc --v=3
  run_room kubelet INSTANCE_ID=i-0abc INSTANCE_IPV4=10.0.0.7 INSTANCE_IPV6= INSTANCE_PROVIDER_ID=
  expect_argv /usr/local/bin/kubelet --config=/opt/kubelet/etc/kubelet.yaml --kubeconfig=/opt/kubelet/etc/kubeconfig \
    --hostname-override=i-0abc --node-ip=10.0.0.7 --v=2
  run ! env -i PATH="$PATH" PODPLANE_ROOT="$PODPLANE_ROOT" INSTANCE_ID=i-0abc bash "$ROOMS/kubelet/run.sh"
  [[ "$output" == *"INSTANCE_IPV4 is empty"* ]]
}

@test "kube-controller-manager: pod CIDR allocation with one mask size per family in the cluster CIDR" {
  local fixed=(--kubeconfig=/opt/kube-controller-manager/etc/kubeconfig --bind-address=0.0.0.0 --cluster-name=kubernetes
    --allocate-node-cidrs=true --root-ca-file=/opt/crt/ca.crt --client-ca-file=/opt/crt/ca.crt
    --service-account-private-key-file=/opt/key/kube-controller-manager/service-accounts.key
    --use-service-account-credentials=true --leader-elect=true
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384)
  run_room kube-controller-manager KUBE_LOG_LEVEL=2 KUBE_CLUSTER_CIDR= KUBE_NODE_CIDR_MASK_SIZE_IPV4= KUBE_NODE_CIDR_MASK_SIZE_IPV6=
  expect_argv /usr/local/bin/kube-controller-manager "${fixed[@]}" --v=2 --cluster-cidr=100.64.0.0/10,fd64::/48 \
    --service-cluster-ip-range=198.18.0.0/15,fdc6::/108 --node-cidr-mask-size-ipv4=24 --node-cidr-mask-size-ipv6=64
  run_room kube-controller-manager KUBE_CLUSTER_CIDR=10.244.0.0/16 KUBE_SERVICE_CLUSTER_IP_RANGE=10.96.0.0/12 KUBE_NODE_CIDR_MASK_SIZE_IPV4=25
  expect_argv /usr/local/bin/kube-controller-manager "${fixed[@]}" --v=2 --cluster-cidr=10.244.0.0/16 \
    --service-cluster-ip-range=10.96.0.0/12 --node-cidr-mask-size-ipv4=25
  run_room kube-controller-manager KUBE_CLUSTER_CIDR=fd64::/48
  expect_argv /usr/local/bin/kube-controller-manager "${fixed[@]}" --v=2 --cluster-cidr=fd64::/48 \
    --service-cluster-ip-range=198.18.0.0/15,fdc6::/108 --node-cidr-mask-size-ipv6=64
}

@test "kube-scheduler and containerd: their config files; the scheduler's log level" {
  run_room kube-scheduler KUBE_LOG_LEVEL=5
  expect_argv /usr/local/bin/kube-scheduler --config=/opt/kube-scheduler/etc/kube-scheduler.yaml \
    --tls-min-version=VersionTLS13 --tls-cipher-suites=TLS_AES_256_GCM_SHA384 \
    --tls-cert-file=/opt/crt/kube-scheduler.client.crt --tls-private-key-file=/opt/key/kube-scheduler/kube-scheduler.client.key --v=5
  run_room containerd REGISTRY_ENABLED=true REGISTRY_HOSTNAME=registry.example.com
  expect_argv /usr/local/bin/containerd --config=/etc/containerd/config.toml
}

@test "kube2iam: node = instance ID, host IP, region in the environment" {
  run_room kube2iam PROVIDER_REGION=us-east-1 INSTANCE_IPV4=10.0.0.7 INSTANCE_ID=i-0abc
  expect_argv /usr/local/bin/kube2iam --app-port=8181 --metrics-port=8182 --auto-discover-base-arn=true \
    --host-interface=lxc+ --iptables=true --log-level=info --namespace-restrictions=true \
    --use-regional-sts-endpoint=true --kubeconfig=/opt/kube2iam/etc/kubeconfig --host-ip=10.0.0.7 --node=i-0abc
  env_has AWS_REGION=us-east-1
}

@test "nstance-agent: no flags; Nstance's NSTANCE_* environment with its identity, keys and recv dirs" {
  run_room nstance-agent NSTANCE_SERVER_REGISTRATION_ADDR=reg.example.com:8990 NSTANCE_SERVER_AGENT_ADDR=agent.example.com:8991 \
    VMCONFIG_KIND=knd INSTANCE_ID=i-0abc INSTANCE_HOSTNAME=i-0abc INSTANCE_FQDN=i-0abc.example.internal \
    INSTANCE_IPV4=10.0.0.7 INSTANCE_IPV6=
  expect_argv /usr/local/bin/nstance-agent
  local kv
  for kv in NSTANCE_SERVER_REGISTRATION_ADDR=reg.example.com:8990 NSTANCE_SERVER_AGENT_ADDR=agent.example.com:8991 \
    NSTANCE_IDENTITY_DIR=/opt/nstance-agent/identity NSTANCE_IDENTITY_MODE=0600 \
    NSTANCE_KEYS_DIR=/opt/nstance-agent/keys NSTANCE_KEYS_MODE=0640 NSTANCE_RECV_DIR=/opt/nstance-agent/recv \
    NSTANCE_RECV_MODE=0600 NSTANCE_INSTANCE_KIND=knd NSTANCE_INSTANCE_ID=i-0abc NSTANCE_INSTANCE_HOSTNAME=i-0abc \
    NSTANCE_INSTANCE_FQDN=i-0abc.example.internal NSTANCE_INSTANCE_IPV4=10.0.0.7 NSTANCE_SPOT_POLL_INTERVAL=2s; do
    env_has "$kv"
  done
  env_lacks NSTANCE_INSTANCE_IPV6
}

@test "netsy: no flags; NETSY_* environment, node ID = instance ID; static keys or an assumed role, never both" {
  run_room netsy INSTANCE_ID=i-0abc INSTANCE_IPV4=10.0.0.7 PROVIDER_KIND=local PROVIDER_REGION=r1 CLUSTER_ID=c1 \
    NETSY_ENDPOINT=http://10.0.0.2:9000 NETSY_ACCESS_KEY_ID=AKID NETSY_SECRET_ACCESS_KEY=s3cr3t
  expect_argv /usr/local/bin/netsy
  local kv
  for kv in NETSY_CONFIG=/opt/netsy/etc/cluster.jsonc NETSY_NODE_ID=i-0abc NETSY_DATA_DIR=/var/lib/netsy \
    NETSY_BIND_CLIENT=0.0.0.0:2378 NETSY_ADVERTISE_CLIENT=10.0.0.7:2378 NETSY_BIND_PEER=0.0.0.0:2381 \
    NETSY_ADVERTISE_PEER=10.0.0.7:2381 NETSY_BIND_ELECTION=0.0.0.0:8443 NETSY_ADVERTISE_ELECTION=10.0.0.7:8443 \
    NETSY_BIND_HEALTH=0.0.0.0:8080 NETSY_TLS_CA_CERT=/opt/crt/ca.crt NETSY_TLS_SERVER_CERT=/opt/crt/netsy.server.crt \
    NETSY_TLS_SERVER_KEY=/opt/key/netsy/netsy.server.key NETSY_TLS_CLIENT_CERT=/opt/crt/netsy.client.crt \
    NETSY_TLS_CLIENT_KEY=/opt/key/netsy/netsy.client.key AWS_DEFAULT_REGION=r1 AWS_ENDPOINT_URL=http://10.0.0.2:9000 \
    AWS_S3_USE_PATH_STYLE=true AWS_ACCESS_KEY_ID=AKID AWS_SECRET_ACCESS_KEY=s3cr3t; do
    env_has "$kv"
  done
  env_lacks AWS_ROLE_ARN
  run_room netsy INSTANCE_ID=i-0abc INSTANCE_IPV4=10.0.0.7 PROVIDER_KIND=aws AWS_ACCOUNT_ID=123456789012 CLUSTER_ID=c1 \
    NETSY_REGION=eu-west-1 NETSY_ACCESS_KEY_ID=AKID
  env_has AWS_ROLE_ARN=arn:aws:iam::123456789012:role/podplane-c1-netsy
  env_has AWS_ROLE_SESSION_NAME=i-0abc-netsy
  env_has AWS_DEFAULT_REGION=eu-west-1
  env_lacks AWS_ACCESS_KEY_ID
  env_lacks AWS_S3_USE_PATH_STYLE
}

@test "zot: serve its config; the registry role on aws, static keys elsewhere" {
  run_room zot PROVIDER_KIND=local INSTANCE_ID=i-0abc REGISTRY_ACCESS_KEY_ID=AKID REGISTRY_SECRET_ACCESS_KEY=s3cr3t
  expect_argv /usr/local/bin/zot serve /opt/zot/etc/config.json
  env_has AWS_ACCESS_KEY_ID=AKID
  env_has AWS_SECRET_ACCESS_KEY=s3cr3t
  env_lacks AWS_ROLE_ARN
  run_room zot PROVIDER_KIND=aws AWS_ACCOUNT_ID=123456789012 CLUSTER_ID=c1 INSTANCE_ID=i-0abc REGISTRY_ACCESS_KEY_ID=AKID
  env_has AWS_ROLE_ARN=arn:aws:iam::123456789012:role/podplane-c1-registry
  env_has AWS_ROLE_SESSION_NAME=i-0abc-zot
  env_lacks AWS_ACCESS_KEY_ID
}

@test "fluent-bit: its config; S3 keys in the environment only without a role" {
  run_room fluent-bit PROVIDER_KIND=local TELEMETRY_S3_BUCKET=logs TELEMETRY_S3_ACCESS_KEY_ID=AKID TELEMETRY_S3_SECRET_ACCESS_KEY=s3cr3t
  expect_argv /opt/fluent-bit/bin/fluent-bit --config=/opt/fluent-bit/etc/fluent-bit.yaml
  env_has AWS_ACCESS_KEY_ID=AKID
  run_room fluent-bit PROVIDER_KIND=aws TELEMETRY_S3_BUCKET=logs TELEMETRY_S3_ACCESS_KEY_ID=AKID
  env_lacks AWS_ACCESS_KEY_ID
}

@test "every room's unit: ExecStart is its run.sh, EnvironmentFile its env file, User= as services.tsv" {
  local svc kinds when user _ unit
  while IFS=$'\t' read -r svc kinds when user _; do
    [[ -z "$svc" || "$svc" == \#* ]] && continue
    unit="$ROOMS/$svc/$svc.service"
    grep -qxF "ExecStart=/opt/podplane/services/$svc/run.sh" "$unit"
    grep -qxF "EnvironmentFile=/opt/env/$svc.env" "$unit"
    grep -qxF "ConditionPathExists=/opt/env/$svc.env" "$unit"
    grep -qxF "User=$user" "$unit"
    grep -qxF "Group=$user" "$unit"
    [ -x "$ROOMS/$svc/run.sh" ]
  done <"$ROOMS/../share/services.tsv"
}

@test "hosts-refresh: 127.0.0.1 on knc; the LB's addresses on knd; one managed block, other lines kept, no rewrite when unchanged" {
  mkdir -p "$PODPLANE_ROOT/opt/podplane/share" "$PODPLANE_ROOT/opt/podplane/etc" "$PODPLANE_ROOT/etc" "$PODPLANE_ROOT/proc/sys/kernel" "$BATS_TEST_TMPDIR/bin"
  printf '127.0.0.1 localhost\n' >"$PODPLANE_ROOT/etc/hosts"
  echo localhost >"$PODPLANE_ROOT/proc/sys/kernel/hostname"
  printf '#!/usr/bin/env bash\n[ "$1 $2" = "ahosts lb.internal" ] || exit 2\nprintf "10.0.1.5 STREAM lb.internal\\n10.0.1.5 DGRAM\\n10.0.2.6 STREAM\\n"\n' >"$BATS_TEST_TMPDIR/bin/getent"
  chmod +x "$BATS_TEST_TMPDIR/bin/getent"
  echo knc >"$PODPLANE_ROOT/opt/podplane/share/kind"
  : >"$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [ "$(cat "$PODPLANE_ROOT/etc/hosts")" = "$(printf '127.0.0.1 localhost\n# BEGIN podplane managed kube-apiserver\n127.0.0.1 kube-apiserver.podplane.internal\n# END podplane managed kube-apiserver')" ]
  echo knd >"$PODPLANE_ROOT/opt/podplane/share/kind"
  printf "KUBE_API_INTERNAL_LB_HOSTNAME='lb.internal'\n" >"$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [ "$(cat "$PODPLANE_ROOT/etc/hosts")" = "$(printf '127.0.0.1 localhost\n# BEGIN podplane managed kube-apiserver\n10.0.1.5 kube-apiserver.podplane.internal\n10.0.2.6 kube-apiserver.podplane.internal\n# END podplane managed kube-apiserver')" ]
  touch -d '2000-01-01' "$PODPLANE_ROOT/etc/hosts"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [ "$(stat -c %Y "$PODPLANE_ROOT/etc/hosts")" = "$(date -d 2000-01-01 +%s)" ]
  printf "KUBE_API_INTERNAL_LB_HOSTNAME=''\n" >"$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [ "$(cat "$PODPLANE_ROOT/etc/hosts")" = "127.0.0.1 localhost" ]
}

@test "hosts-refresh: the node's own name (the instance ID user-data set) resolves from /etc/hosts, not DNS; an LB DNS failure keeps the API lines" {
  mkdir -p "$PODPLANE_ROOT/opt/podplane/share" "$PODPLANE_ROOT/opt/podplane/etc" "$PODPLANE_ROOT/etc" "$PODPLANE_ROOT/proc/sys/kernel" "$BATS_TEST_TMPDIR/bin"
  # what cloud-init's manage_etc_hosts renders: the metadata's hostname, not the instance ID
  printf '127.0.1.1 podplane-test-knd.localdomain podplane-test-knd\n127.0.0.1 localhost\n' >"$PODPLANE_ROOT/etc/hosts"
  echo i-0abc123 >"$PODPLANE_ROOT/proc/sys/kernel/hostname"
  printf 'search example.internal\n' >"$PODPLANE_ROOT/etc/resolv.conf"
  echo knd >"$PODPLANE_ROOT/opt/podplane/share/kind"
  printf "KUBE_API_INTERNAL_LB_HOSTNAME='lb.internal'\n" >"$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  printf '#!/usr/bin/env bash\n[ "$1 $2" = "ahosts lb.internal" ] || exit 2\nprintf "10.0.1.5 STREAM lb.internal\\n"\n' >"$BATS_TEST_TMPDIR/bin/getent"
  chmod +x "$BATS_TEST_TMPDIR/bin/getent"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [ "$(cat "$PODPLANE_ROOT/etc/hosts")" = "$(printf '127.0.1.1 podplane-test-knd.localdomain podplane-test-knd\n127.0.0.1 localhost\n# BEGIN podplane managed hostname\n127.0.1.1 i-0abc123.example.internal i-0abc123\n# END podplane managed hostname\n# BEGIN podplane managed kube-apiserver\n10.0.1.5 kube-apiserver.podplane.internal\n# END podplane managed kube-apiserver')" ]
  # DNS down: the API line stays; the hostname line follows a renamed node
  printf '#!/usr/bin/env bash\nexit 2\n' >"$BATS_TEST_TMPDIR/bin/getent"
  echo i-0def456 >"$PODPLANE_ROOT/proc/sys/kernel/hostname"
  run -0 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash "$ROOMS/hosts-refresh/run.sh"
  [[ "$output" == *"cannot resolve KUBE_API_INTERNAL_LB_HOSTNAME=lb.internal"* ]]
  [ "$(cat "$PODPLANE_ROOT/etc/hosts")" = "$(printf '127.0.1.1 podplane-test-knd.localdomain podplane-test-knd\n127.0.0.1 localhost\n# BEGIN podplane managed hostname\n127.0.1.1 i-0def456.example.internal i-0def456\n# END podplane managed hostname\n# BEGIN podplane managed kube-apiserver\n10.0.1.5 kube-apiserver.podplane.internal\n# END podplane managed kube-apiserver')" ]
}
