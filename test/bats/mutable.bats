#!/usr/bin/env bats
# update-mutable-env.sh and nstance-recv-watch.sh: a mutable.env in the Podplane CLI's exact
# format (and the seed's names) is merged; delivered updates restart only the services that use
# a changed variable; anything else rejects the whole file and leaves every file as it was.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
  boot knc
  RECV="$PODPLANE_ROOT/opt/nstance-agent/recv"
  MUTABLE="$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  mkdir -p "$RECV"
  cp -p "$MUTABLE" "$BATS_TEST_TMPDIR/mutable.before"
}

deliver() { printf '%s' "$1" >"$RECV/mutable.env"; }

# assert_rejected REASON: update-mutable-env exits 1 naming REASON, the journal is told, and
# every file (mutable.env included) is as it was.
assert_rejected() {
  snapshot >"$BATS_TEST_TMPDIR/before"
  clear_calls
  run --separate-stderr bash "$BIN/update-mutable-env.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"rejected"*"$1"*"is unchanged"* ]]
  [[ "$(calls logger)" == *"$1"* ]]
  cmp "$MUTABLE" "$BATS_TEST_TMPDIR/mutable.before"
  snapshot >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "the Podplane CLI's exact mutable.env (39 keys, single-quoted, many empty) is accepted and applied" {
  # the fixture holds the CLI's keys in the CLI's order, which is variables.tsv's order too
  [ "$(cut -d= -f1 "$FIXTURES/mutable-cli.env")" = "$(awk -F'\t' '$2 == "mutable" { print $1 }' "$VMCONFIG_TREE/opt/podplane/share/variables.tsv" | head -39)" ]
  cp "$FIXTURES/mutable-cli.env" "$RECV/mutable.env"
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  grep -qx "KUBE_LOG_LEVEL='3'" "$MUTABLE"
  grep -qx "KUBE_API_ETCD_SERVERS=''" "$MUTABLE"
  # the seed's 6 keep their values
  grep -qx "KUBE_API_PORT='6443'" "$MUTABLE"
  grep -qx "NSTANCE_SERVER_AGENT_ADDR='10.0.2.2:8991'" "$MUTABLE"
  [ "$(grep -c = "$MUTABLE")" -eq 45 ]
  # empty means the default
  grep -qx 'KUBE_API_ETCD_SERVERS="https://127.0.0.1:2378"' "$(env_file kube-apiserver)"
  grep -qx 'KUBE_LOG_LEVEL="3"' "$(env_file kubelet)"
  # the CLI's key joins admin's keys
  grep -qx "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICliKey dave@example" "$PODPLANE_ROOT/home/admin/.ssh/authorized_keys"
  # the same file again changes nothing
  clear_calls
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ -z "$(calls 'systemctl (restart|start|stop)')" ]
}

@test "the seed's names are accepted too" {
  deliver $'KUBE_API_PORT=\'6444\'\nOIDC_CUSTOM_CA=\'true\'\nOIDC_CA_FILE=\'/opt/oidc/ca.pem\'\nSSH_AUTHORIZED_KEY=\'ssh-ed25519 AAAA seed\'\nNSTANCE_SERVER_AGENT_ADDR=\'nstance.example.com:8991\'\n'
  run --separate-stderr bash "$BIN/update-mutable-env.sh"
  [ "$status" -eq 0 ]
  grep -qx "KUBE_API_PORT='6444'" "$MUTABLE"
  grep -qx "OIDC_CA_FILE='/opt/oidc/ca.pem'" "$MUTABLE"
  grep -qx "NSTANCE_SERVER_AGENT_ADDR='nstance.example.com:8991'" "$MUTABLE"
}

@test "a delivered change of one variable restarts only the services that use it" {
  deliver $'KUBE_LOG_LEVEL=\'5\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = "kube-apiserver kube-controller-manager kube-scheduler kubelet" ]
  [ -z "$(calls 'systemctl start')" ]
  grep -qx "KUBE_LOG_LEVEL='5'" "$MUTABLE"
  grep -qx 'KUBE_LOG_LEVEL="5"' "$(env_file kubelet)"
}

@test "telemetry: turning it on starts fluent-bit alone; a change of its variables restarts it alone; the same values again restart nothing" {
  # Podplane's default is TELEMETRY_ENABLED=false: fluent-bit does not run until it is turned on.
  [ ! -e "$(env_file fluent-bit)" ]
  deliver $'TELEMETRY_ENABLED=\'true\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = fluent-bit ]
  [ -z "$(calls 'systemctl restart')" ]
  clear_calls
  deliver $'TELEMETRY_LOG_SERVICES=\'kubelet,netsy\'\nTELEMETRY_ENABLED=\'true\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = fluent-bit ]
  [ -z "$(calls 'systemctl start')" ]
  clear_calls
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ -z "$(calls 'systemctl (start|restart)')" ]
}

@test "REGISTRY_ENABLED (default true): false stops zot and leaves containerd (hosts.toml is read per pull); true starts it again; never enable/disable" {
  deliver $'REGISTRY_ENABLED=\'false\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called stop)" = zot ]
  [ -z "$(units_called restart)" ]
  [ ! -e "$(env_file zot)" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/state/zot.digest" ]
  clear_calls
  deliver $'REGISTRY_ENABLED=\'true\'\nREGISTRY_HOSTNAME=\'registry.example.com\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = zot ]
  [ -z "$(units_called restart)" ]
  [ -f "$PODPLANE_ROOT/etc/containerd/certs.d/registry.example.com/hosts.toml" ]
  [ -z "$(calls 'systemctl (enable|disable|daemon-reload)')" ]
}

@test "values are stored single-quoted ('\\'' for a quote): sourcing mutable.env runs nothing and reads the value back" {
  deliver "SSH_AUTHORIZED_KEY='ssh-ed25519 AAAA it'\\''s \"mine\" ; touch $BATS_TEST_TMPDIR/pwned'"$'\n'
  run --separate-stderr bash "$BIN/update-mutable-env.sh"
  [ "$status" -eq 0 ]
  value=$(
    # shellcheck disable=SC1090
    source "$MUTABLE"
    printf '%s' "$SSH_AUTHORIZED_KEY"
  )
  [ "$value" = "ssh-ed25519 AAAA it's \"mine\" ; touch $BATS_TEST_TMPDIR/pwned" ]
  [ ! -e "$BATS_TEST_TMPDIR/pwned" ]
}

@test "an unknown key rejects the whole file" {
  deliver $'KUBE_LOG_LEVEL=\'5\'\nPATH=\'/tmp\'\n'
  assert_rejected "PATH is not one of the 45 mutable variables"
  deliver $'INSTANCE_ID=\'i-other\'\n'
  assert_rejected "INSTANCE_ID is not one of the 45 mutable variables"
}

@test "a value with \$(...) or backticks is rejected, quoted or not" {
  deliver "KUBE_API_PUBLIC_HOSTNAME='\$(touch $BATS_TEST_TMPDIR/pwned)'"$'\n'
  assert_rejected 'KUBE_API_PUBLIC_HOSTNAME: contains $ or a backtick'
  deliver "KUBE_API_PUBLIC_HOSTNAME=\$(touch $BATS_TEST_TMPDIR/pwned)"$'\n'
  assert_rejected "line 1: KUBE_API_PUBLIC_HOSTNAME: the value is not quoted"
  deliver "NETSY_ACCESS_KEY_ID='\`touch $BATS_TEST_TMPDIR/pwned\`'"$'\n'
  assert_rejected 'NETSY_ACCESS_KEY_ID: contains $ or a backtick'
  [ ! -e "$BATS_TEST_TMPDIR/pwned" ]
}

@test "an unquoted value with spaces, a stray quote, a value spanning lines are rejected" {
  deliver $'SSH_AUTHORIZED_KEY=ssh-ed25519 AAAA key\n'
  assert_rejected "line 1: SSH_AUTHORIZED_KEY: the value is not quoted"
  deliver $'NETSY_BUCKET=\'a\'b\'\n'
  assert_rejected "line 1: NETSY_BUCKET: the value continues on the next line"
  deliver $'SSH_AUTHORIZED_KEYS=\'ssh-ed25519 AAAA\nKUBE_LOG_LEVEL=9\'\n'
  assert_rejected "line 1: SSH_AUTHORIZED_KEYS: the value continues on the next line"
  deliver $'KUBE_LOG_LEVEL=\'5\'\nKUBE_LOG_LEVEL=\'6\'\n'
  assert_rejected "line 2: KUBE_LOG_LEVEL is set twice"
}

@test "a CRLF file, a NUL byte, an oversized value are rejected" {
  deliver $'KUBE_LOG_LEVEL=\'5\'\r\nTELEMETRY_ENABLED=\'true\'\r\n'
  assert_rejected "carriage return"
  printf "KUBE_LOG_LEVEL='5'\0\n" >"$RECV/mutable.env"
  assert_rejected "NUL"
  deliver "SSH_AUTHORIZED_KEY='ssh-ed25519 $(head -c 5000 /dev/zero | tr '\0' A)'"$'\n'
  assert_rejected "SSH_AUTHORIZED_KEY: longer than 4096 bytes"
}

@test "Podplane's value rules: booleans, numbers, masks, DNS IPs, service lists, registry hostname" {
  deliver $'TELEMETRY_ENABLED=\'yes\'\n'
  assert_rejected "TELEMETRY_ENABLED: expected true or false"
  deliver $'KUBE_API_PORT=\'64k\'\n'
  assert_rejected "KUBE_API_PORT: expected a port number"
  deliver $'KUBE_LOG_LEVEL=\'-1\'\n'
  assert_rejected "KUBE_LOG_LEVEL: expected a non-negative integer"
  deliver $'KUBE_NODE_CIDR_MASK_SIZE_IPV4=\'33\'\n'
  assert_rejected "KUBE_NODE_CIDR_MASK_SIZE_IPV4: expected a prefix length 0-32"
  deliver $'KUBE_NODE_CIDR_MASK_SIZE_IPV6=\'129\'\n'
  assert_rejected "KUBE_NODE_CIDR_MASK_SIZE_IPV6: expected a prefix length 0-128"
  deliver $'KUBE_CLUSTER_DNS=\'198.19.255.254,dns.example\'\n'
  assert_rejected "KUBE_CLUSTER_DNS: expected a comma-separated list of IP addresses"
  deliver $'KUBE_CLUSTER_CIDR=\'100.64.0.0\'\n'
  assert_rejected "KUBE_CLUSTER_CIDR: expected a comma-separated list of IP addresses with a /prefix"
  deliver $'TELEMETRY_LOG_SERVICES=\'Kubelet\'\n'
  assert_rejected "TELEMETRY_LOG_SERVICES: expected a comma-separated list of lowercase service names"
  deliver $'NETSY_ENDPOINT=\'not an endpoint\'\n'
  assert_rejected "NETSY_ENDPOINT: expected a URL or host:port"
  deliver $'REGISTRY_ENABLED=\'true\'\nREGISTRY_HOSTNAME=\'\'\n'
  assert_rejected "REGISTRY_HOSTNAME is required when REGISTRY_ENABLED is true"
}

@test "a symbolic link delivered as mutable.env is refused" {
  ln -s "$PODPLANE_ROOT/opt/podplane/etc/user-data.env" "$RECV/mutable.env"
  assert_rejected "symbolic link"
}

@test "one bad line among good ones rejects everything, and recv-watch applies nothing" {
  deliver $'KUBE_LOG_LEVEL=\'7\'\nREGISTRY_ENABLED=\'1\'\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 1 ]
  cmp "$MUTABLE" "$BATS_TEST_TMPDIR/mutable.before"
  [ -z "$(calls 'systemctl restart')" ]
}
