#!/usr/bin/env bats
# The rooms' config writers (services/<svc>/configure.sh): sourced with a stand-in stage_file
# (the real one is configure.sh's), given ENV, each writes config files that parse as their
# format (YAML, TOML, JSON) with the keys the binary needs; the no-op pass forks nothing.

bats_require_minimum_version 1.5.0

ROOMS="$(cd "${BATS_TEST_DIRNAME}/../../scripts/vmconfig/opt/podplane/services" && pwd)"

setup() {
  export PODPLANE_ROOT="$BATS_TEST_TMPDIR/root"
  mkdir -p "$PODPLANE_ROOT"
  STAGED_LOG="$BATS_TEST_TMPDIR/staged"
  : >"$STAGED_LOG"
  declare -gA ENV=()
}

# stage_file DEST MODE TEXT [OWNER:GROUP]: writes TEXT and records "DEST MODE OWNER"; makes a
# missing directory as the real one's commit does (the writers make none themselves).
stage_file() {
  (($# == 3 || $# == 4)) || return 1
  [[ "$1" == "$PODPLANE_ROOT"/* ]] || return 1
  [[ -d "${1%/*}" ]] || mkdir -p "${1%/*}"
  printf '%s' "$3" >"$1"
  echo "${1#"$PODPLANE_ROOT"} $2 ${4:-}" >>"$STAGED_LOG"
}

# configure SERVICE NAME=value...: ENV from the arguments, then configure_<service>.
configure() {
  local svc=$1 kv fn
  shift
  ENV=()
  for kv in "$@"; do ENV[${kv%%=*}]=${kv#*=}; done
  # shellcheck source=/dev/null
  source "$ROOMS/$svc/configure.sh"
  fn=configure_${svc//-/_}
  "$fn"
}

# py FILE EXPR...: each Python expression over `d` (the parsed FILE) must be true.
py_yaml() { python3 - "$PODPLANE_ROOT$1" "${@:2}" <<<'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); [exec("assert " + e + ", " + repr(e)) for e in sys.argv[2:]]'; }
py_json() { python3 - "$PODPLANE_ROOT$1" "${@:2}" <<<'import sys, json; d = json.load(open(sys.argv[1])); [exec("assert " + e + ", " + repr(e)) for e in sys.argv[2:]]'; }
py_toml() { python3 - "$PODPLANE_ROOT$1" "${@:2}" <<<'import sys, tomllib; d = tomllib.load(open(sys.argv[1], "rb")); [exec("assert " + e + ", " + repr(e)) for e in sys.argv[2:]]'; }

staged() { grep -qxF "$1" "$STAGED_LOG" || { echo "not staged: $1" >&2 && cat "$STAGED_LOG" >&2 && return 1; }; }

@test "kubelet: KubeletConfiguration with DNS, x509 client CA, serving cert, no read-only port; kubeconfig via the internal name" {
  configure kubelet KUBE_CLUSTER_DNS=198.19.255.254,fdc6::ffff KUBE_API_PORT=7443
  staged "/opt/kubelet/etc/kubelet.yaml 0600 root:root"
  staged "/opt/kubelet/etc/kubeconfig 0600 root:root"
  py_yaml /opt/kubelet/etc/kubelet.yaml 'd["apiVersion"] == "kubelet.config.k8s.io/v1beta1"' 'd["kind"] == "KubeletConfiguration"' \
    'd["clusterDNS"] == ["198.19.255.254", "fdc6::ffff"]' 'd["clusterDomain"] == "cluster.local"' \
    'd["authentication"]["x509"]["clientCAFile"] == "/opt/crt/ca.crt"' 'd["authentication"]["anonymous"]["enabled"] is False' \
    'd["tlsCertFile"] == "/opt/crt/kubelet.server.crt"' 'd["tlsPrivateKeyFile"] == "/opt/key/kubelet/kubelet.server.key"' \
    'd["readOnlyPort"] == 0' 'd["cgroupDriver"] == "systemd"' \
    'd["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock"' 'd["evictionHard"]["nodefs.available"] == "5%"'
  py_yaml /opt/kubelet/etc/kubeconfig 'd["clusters"][0]["cluster"]["server"] == "https://kube-apiserver.podplane.internal:7443"' \
    'd["users"][0]["user"]["client-certificate"] == "/opt/crt/kubelet.client.crt"' \
    'd["users"][0]["user"]["client-key"] == "/opt/key/kubelet/kubelet.client.key"' \
    'd["clusters"][0]["cluster"]["certificate-authority"] == "/opt/crt/ca.crt"' 'd["current-context"] == "kubelet"'
  configure kubelet
  py_yaml /opt/kubelet/etc/kubelet.yaml 'd["clusterDNS"] == ["198.19.255.254", "fdc6::ffff"]'
  py_yaml /opt/kubelet/etc/kubeconfig 'd["clusters"][0]["cluster"]["server"].endswith(":6443")'
}

@test "kube-scheduler, kube-controller-manager, kube2iam: configuration and kubeconfigs with their own client certificates" {
  configure kube-scheduler
  staged "/opt/kube-scheduler/etc/kube-scheduler.yaml 0640 root:kube-scheduler"
  py_yaml /opt/kube-scheduler/etc/kube-scheduler.yaml 'd["apiVersion"] == "kubescheduler.config.k8s.io/v1"' \
    'd["kind"] == "KubeSchedulerConfiguration"' 'd["clientConnection"]["kubeconfig"] == "/opt/kube-scheduler/etc/kubeconfig"'
  py_yaml /opt/kube-scheduler/etc/kubeconfig 'd["users"][0]["user"]["client-certificate"] == "/opt/crt/kube-scheduler.client.crt"'
  configure kube-controller-manager
  staged "/opt/kube-controller-manager/etc/kubeconfig 0640 root:kube-controller-manager"
  py_yaml /opt/kube-controller-manager/etc/kubeconfig \
    'd["users"][0]["user"]["client-key"] == "/opt/key/kube-controller-manager/kube-controller-manager.client.key"'
  configure kube2iam
  staged "/opt/kube2iam/etc/kubeconfig 0640 root:kube2iam"
  py_yaml /opt/kube2iam/etc/kubeconfig 'd["users"][0]["user"]["client-certificate"] == "/opt/crt/kube2iam.client.crt"'
}

@test "containerd: systemd cgroups, runc path, CNI dir, pause image from installed.json through the registry; hosts.toml for zot" {
  mkdir -p "$PODPLANE_ROOT/opt/podplane/share"
  printf '{"kind": "knd", "images": [{"image": "registry.k8s.io/pause:3.10.2"}]}\n' >"$PODPLANE_ROOT/opt/podplane/share/installed.json"
  configure containerd REGISTRY_ENABLED=true REGISTRY_HOSTNAME=registry.example.com INSTANCE_IPV6=
  local rt='d["plugins"]["io.containerd.cri.v1.runtime"]' img='d["plugins"]["io.containerd.cri.v1.images"]'
  py_toml /etc/containerd/config.toml 'd["version"] == 3' \
    "$rt"'["containerd"]["runtimes"]["runc"]["options"] == {"BinaryName": "/usr/local/sbin/runc", "SystemdCgroup": True}' \
    "$rt"'["cni"]["bin_dirs"] == ["/opt/cni/bin"]' "$img"'["registry"]["config_path"] == "/etc/containerd/certs.d"' \
    "$img"'["pinned_images"]["sandbox"] == "registry.example.com/mirror/registry.k8s.io/pause:3.10.2"'
  py_toml /etc/containerd/certs.d/registry.example.com/hosts.toml \
    'd["host"]["https://127.0.0.1:5000"]["client"] == [["/opt/crt/containerd.client.crt", "/opt/key/containerd/containerd.client.key"]]' \
    'd["host"]["https://127.0.0.1:5000"]["capabilities"] == ["pull", "resolve"]' 'd["host"]["https://127.0.0.1:5000"]["ca"] == "/opt/crt/ca.crt"'
  configure containerd REGISTRY_ENABLED=true REGISTRY_HOSTNAME=registry.example.com INSTANCE_IPV6=2001:db8::7
  py_toml /etc/containerd/certs.d/registry.example.com/hosts.toml '"https://[::1]:5000" in d["host"]'
  configure containerd REGISTRY_ENABLED=false REGISTRY_HOSTNAME=registry.example.com
  [ ! -e "$PODPLANE_ROOT/etc/containerd/certs.d/registry.example.com/hosts.toml" ]
  py_toml /etc/containerd/config.toml "$img"'["pinned_images"]["sandbox"] == "registry.k8s.io/pause:3.10.2"'
  rm "$PODPLANE_ROOT/opt/podplane/share/installed.json"
  configure containerd REGISTRY_ENABLED=false
  py_toml /etc/containerd/config.toml '"pinned_images" not in '"$img"
}

@test "zot: TLS + mTLS, read-only for containerd's identity, s3 storage with endpoint and path style; gcs on google" {
  configure zot PROVIDER_KIND=local REGISTRY_BUCKET=reg REGISTRY_REGION=r1 REGISTRY_ENDPOINT=http://10.0.0.2:9000 AWS_S3_USE_PATH_STYLE=true
  staged "/opt/zot/etc/config.json 0640 root:zot"
  py_json /opt/zot/etc/config.json 'd["http"]["tls"] == {"cert": "/opt/crt/registry.server.crt", "key": "/opt/key/registry/registry.server.key", "cacert": "/opt/crt/ca.crt"}' \
    'd["http"]["auth"]["mtls"]["identityAttributes"] == ["CommonName"]' \
    'd["http"]["accessControl"]["repositories"]["**"]["policies"] == [{"users": ["containerd.client"], "actions": ["read"]}]' \
    'd["http"]["address"] == "127.0.0.1" and d["http"]["port"] == "5000"' \
    'd["storage"]["storageDriver"] == {"name": "s3", "bucket": "reg", "region": "r1", "secure": False, "skipverify": False, "regionendpoint": "http://10.0.0.2:9000", "forcepathstyle": True}'
  configure zot PROVIDER_KIND=aws PROVIDER_REGION=us-east-1 REGISTRY_BUCKET='c1-"registry' INSTANCE_IPV6=2001:db8::7
  py_json /opt/zot/etc/config.json 'd["storage"]["storageDriver"]["regionendpoint"] == "s3.us-east-1.amazonaws.com"' \
    'd["storage"]["storageDriver"]["bucket"] == "c1-\"registry"' 'd["storage"]["storageDriver"]["secure"] is True' \
    '"forcepathstyle" not in d["storage"]["storageDriver"]' 'd["http"]["address"] == "::1"'
  configure zot PROVIDER_KIND=google REGISTRY_BUCKET=reg
  py_json /opt/zot/etc/config.json 'd["storage"]["storageDriver"] == {"name": "gcs", "bucket": "reg"}'
}

@test "netsy: the cluster config is JSON with the cluster ID and bucket" {
  configure netsy CLUSTER_ID=c1 NETSY_BUCKET=c1-netsy PROVIDER_KIND=aws
  staged "/opt/netsy/etc/cluster.jsonc 0640 root:netsy"
  py_json /opt/netsy/etc/cluster.jsonc 'd["cluster_id"] == "c1"' 'd["storage"]["bucket_name"] == "c1-netsy"' 'd["storage"]["provider"] == "s3"'
  configure netsy CLUSTER_ID=c1 NETSY_BUCKET=b PROVIDER_KIND=google
  py_json /opt/netsy/etc/cluster.jsonc 'd["storage"]["provider"] == "gcs"'
}

@test "fluent-bit: listed units from the journal, cloud-init, filesystem buffering, S3 and OTLP split from the endpoint" {
  configure fluent-bit TELEMETRY_LOG_SERVICES=kubelet,netsy TELEMETRY_LOG_CLOUDINIT=true TELEMETRY_S3_BUCKET=logs \
    TELEMETRY_S3_REGION=r1 TELEMETRY_S3_ENDPOINT=http://10.0.0.2:9000 TELEMETRY_OTLP_ENDPOINT=https://otel.example.com/custom/logs PROVIDER_KIND=local
  staged "/opt/fluent-bit/etc/fluent-bit.yaml 0640 root:fluent-bit"
  local f=/opt/fluent-bit/etc/fluent-bit.yaml
  py_yaml $f 'd["service"]["storage.path"].startswith("/var/lib/fluent-bit")' \
    'd["pipeline"]["inputs"][0]["systemd_filter"] == ["_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=netsy.service"]' \
    'all(i["storage.type"] == "filesystem" for i in d["pipeline"]["inputs"])' \
    'd["pipeline"]["inputs"][1]["path"] == "/var/log/cloud-init.log"' \
    '[o["name"] for o in d["pipeline"]["outputs"]] == ["s3", "opentelemetry"]' \
    'd["pipeline"]["outputs"][0]["bucket"] == "logs" and d["pipeline"]["outputs"][0]["endpoint"] == "http://10.0.0.2:9000"' \
    '"role_arn" not in d["pipeline"]["outputs"][0]' \
    'd["pipeline"]["outputs"][1] == {"name": "opentelemetry", "match": "*", "host": "otel.example.com", "port": 443, "logs_uri": "/custom/logs", "tls": True}'
  configure fluent-bit TELEMETRY_LOG_SERVICES= TELEMETRY_LOG_CLOUDINIT=false TELEMETRY_OTLP_ENDPOINT=http://10.0.0.3:4318
  py_yaml $f 'd["pipeline"]["inputs"] == []' \
    'd["pipeline"]["outputs"] == [{"name": "opentelemetry", "match": "*", "host": "10.0.0.3", "port": 4318, "logs_uri": "/v1/logs", "tls": False}]'
  configure fluent-bit TELEMETRY_LOG_SERVICES=kubelet TELEMETRY_S3_BUCKET=logs PROVIDER_KIND=aws PROVIDER_REGION=us-east-1 AWS_ACCOUNT_ID=123456789012 CLUSTER_ID=c1
  py_yaml $f 'd["pipeline"]["outputs"][0]["role_arn"] == "arn:aws:iam::123456789012:role/podplane-c1-telemetry-upload"' \
    'd["pipeline"]["outputs"][0]["endpoint"] == "s3.us-east-1.amazonaws.com"' 'd["pipeline"]["outputs"][0]["region"] == "us-east-1"'
  configure fluent-bit TELEMETRY_LOG_SERVICES=kubelet
  py_yaml $f 'd["pipeline"]["outputs"] == [{"name": "null", "match": "*"}]'
}

@test "a second pass of every writer forks nothing (the configure no-op path)" {
  local svc
  mkdir -p "$BATS_TEST_TMPDIR/nobin"
  for svc in kubelet kube-scheduler kube-controller-manager kube2iam containerd zot netsy fluent-bit; do
    configure "$svc" REGISTRY_ENABLED=true REGISTRY_HOSTNAME=registry.example.com REGISTRY_BUCKET=b CLUSTER_ID=c1 \
      NETSY_BUCKET=n TELEMETRY_LOG_SERVICES=kubelet TELEMETRY_OTLP_ENDPOINT=https://otel.example.com
    # With every directory in place, a PATH without commands must do: any fork fails the writer.
    PATH="$BATS_TEST_TMPDIR/nobin" configure "$svc" REGISTRY_ENABLED=true REGISTRY_HOSTNAME=registry.example.com \
      REGISTRY_BUCKET=b CLUSTER_ID=c1 NETSY_BUCKET=n TELEMETRY_LOG_SERVICES=kubelet TELEMETRY_OTLP_ENDPOINT=https://otel.example.com
  done
}
