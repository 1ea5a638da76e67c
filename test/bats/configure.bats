#!/usr/bin/env bats
# configure.sh / bootstrap.sh / restart.sh in a temporary PODPLANE_ROOT with stubs, fed the
# user-data.env Podplane's user-data writes (helpers/vmconfig.bash write_user_data).

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
  ETC="$PODPLANE_ROOT/opt/podplane/etc"
  ID="$PODPLANE_ROOT/opt/nstance-agent/identity"
  KEYS="$PODPLANE_ROOT/home/admin/.ssh/authorized_keys"
}

# refused_unchanged MESSAGE: configure.sh exits 1 naming MESSAGE (stderr and journal), starts
# nothing, and every file under PODPLANE_ROOT is as it was.
refused_unchanged() {
  snapshot >"$BATS_TEST_TMPDIR/before"
  clear_calls
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"$1"* ]]
  [[ "$(calls logger)" == *"$1"* ]]
  [ -z "$(calls 'systemctl (start|restart|stop)')" ]
  snapshot >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "missing user-data.env: clear failure, nothing started" {
  install_kind knc
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"user-data.env is missing"* ]]
  [ -z "$(calls systemctl)" ]
  [ ! -e "$(env_file kubelet)" ]
}

@test "first boot (knc) from Podplane's user-data.env: detected.env, seeded mutable.env, identity, SSH, env files, every service started" {
  install_kind knc
  write_user_data KUBE_LOG_LEVEL=4 NETSY_BUCKET=netsy-bucket NETSY_ACCESS_KEY_ID=AKIAFIXTURE
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = "$(runs knc)" ]
  # Podplane's defaults: the registry is on (zot runs), telemetry is off (fluent-bit does not).
  [[ " $(units_called start) " == *" zot "* ]]
  [[ " $(units_called start) " != *" fluent-bit "* ]]
  [ ! -e "$(env_file fluent-bit)" ]
  [ -z "$(calls 'systemctl restart')" ]
  # detected.env: Podplane's 8 names in its order, 0600; then the marker.
  [ "$(cut -d= -f1 "$ETC/detected.env" | tr '\n' ' ')" = "VMCONFIG_KIND VMCONFIG_BASE_KIND INSTANCE_PROVIDER_ID INSTANCE_IPV4 INSTANCE_IPV6 INSTANCE_NETDEV INSTANCE_HOSTNAME INSTANCE_FQDN " ]
  grep -qx "VMCONFIG_KIND='knc'" "$ETC/detected.env"
  grep -qx "VMCONFIG_BASE_KIND='node'" "$ETC/detected.env"
  grep -qx "INSTANCE_PROVIDER_ID='i-0123'" "$ETC/detected.env"
  grep -qx "INSTANCE_IPV4='10.0.2.15'" "$ETC/detected.env"
  grep -qx "INSTANCE_IPV6='fec0::5054:ff:fe12:3456'" "$ETC/detected.env"
  grep -qx "INSTANCE_NETDEV='eth0'" "$ETC/detected.env"
  grep -qx "INSTANCE_HOSTNAME='node-1'" "$ETC/detected.env"
  grep -qx "INSTANCE_FQDN='node-1.localdomain'" "$ETC/detected.env"
  [ "$(stat -c %a "$ETC/detected.env")" = 600 ]
  grep -q '^completed_at=20' "$PODPLANE_ROOT/opt/podplane/bootstrap.done"
  # mutable.env: the CLI's 39 names in its order, then the seed's 6; defaults, then user-data's values.
  [ "$(grep -c = "$ETC/mutable.env")" -eq 45 ]
  [ "$(head -1 "$ETC/mutable.env")" = "SSH_AUTHORIZED_KEYS=''" ]
  [ "$(sed -n 39p "$ETC/mutable.env" | cut -d= -f1)" = REGISTRY_HOSTNAME ]
  grep -qx "KUBE_LOG_LEVEL='4'" "$ETC/mutable.env"
  grep -qx "KUBE_API_PORT='6443'" "$ETC/mutable.env"
  grep -qx "KUBE_CLUSTER_CIDR='100.64.0.0/10,fd64::/48'" "$ETC/mutable.env"
  grep -qx "NSTANCE_SERVER_AGENT_ADDR='10.0.2.2:8991'" "$ETC/mutable.env"
  [ "$(stat -c %a "$ETC/mutable.env")" = 600 ]
  # identity: the CA from the multi-line NSTANCE_CA_CERT, nonce and CA 0600
  cmp "$NSTANCE_CA_PEM" "$ID/ca.crt"
  [ "$(stat -c %a "$ID/ca.crt")" = 600 ]
  [ "$(stat -c %a "$ID/nonce.jwt")" = 600 ]
  # admin: both immutable keys (one with a quote in its comment), sudo without password
  [ "$(cat "$KEYS")" = "$SSH_KEY_1"$'\n'"$SSH_KEY_2" ]
  [ "$(stat -c %a "$KEYS")" = 600 ]
  [ "$(cat "$PODPLANE_ROOT/etc/sudoers.d/admin")" = 'admin ALL=(ALL) NOPASSWD:ALL' ]
  [ "$(stat -c %a "$PODPLANE_ROOT/etc/sudoers.d/admin")" = 440 ]
  [ "$(calls useradd)" = "useradd --create-home --user-group --shell /bin/bash admin" ]
  # only the variables each service uses; root services 0600, others 0640
  grep -qx 'KUBE_LOG_LEVEL="4"' "$(env_file kube-scheduler)"
  [ "$(wc -l <"$(env_file kube-scheduler)")" -eq 1 ]
  grep -qx 'NETSY_ACCESS_KEY_ID="AKIAFIXTURE"' "$(env_file netsy)"
  not grep -q NETSY "$(env_file kubelet)"
  # the bucket is in netsy's cluster config (its room's writer), not in its env file
  grep -q '"bucket_name": "netsy-bucket"' "$PODPLANE_ROOT/opt/netsy/etc/cluster.jsonc"
  not grep -q NETSY_BUCKET "$(env_file netsy)"
  [ "$(stat -c %a "$(env_file kubelet)")" = 600 ]
  [ "$(stat -c %a "$(env_file netsy)")" = 640 ]
  # kube2iam (provider is not aws) does not apply
  [ ! -e "$(env_file kube2iam)" ]
  # per-phase timings, in the journal too
  [[ "$stderr" =~ timings:\ bootstrap=[0-9]+ms\ identity=[0-9]+ms\ env=[0-9]+ms\ writers=[0-9]+ms\ commit=[0-9]+ms\ starts=[0-9]+ms ]]
  [[ "$(calls logger)" == *"timings: bootstrap="* ]]
}

@test "first boot before Nstance delivered: units skipped for a missing certificate wait, configure succeeds; the next run starts them" {
  install_kind knc
  write_user_data
  # systemd skips a unit whose ConditionPathExists= (its certificates) does not hold yet.
  printf '%s\n' kubelet.service kube-apiserver.service >"$STUB_STATE/condition-fails"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"waiting for their inputs: "*kube* ]]
  [[ "$stderr" != *"did not start"* ]]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/state/kubelet.digest" ]
  [ ! -e "$STUB_STATE/kubelet.service.active" ]
  # Nstance delivered: the conditions hold; the next run starts exactly the waiting ones.
  rm "$STUB_STATE/condition-fails"
  : >"$STUB_LOG"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = "$(sorted kubelet kube-apiserver)" ]
  [ -z "$(calls 'systemctl restart')" ]
  [ -e "$PODPLANE_ROOT/opt/podplane/state/kubelet.digest" ]
}

@test "a unit that fails to start (not a condition) still fails configure, naming it" {
  install_kind knc
  write_user_data
  echo kube-scheduler.service >"$STUB_STATE/fail-start"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"kube-scheduler.service did not start"* ]]
  [[ "$stderr" == *"failed to start, restart or stop: kube-scheduler"* ]]
}

@test "second and third run: same inputs, no file rewritten, nothing restarted or started" {
  boot knc
  touch -d '2000-01-01' "$PODPLANE_ROOT"/opt/env/*.env "$ETC"/*.env "$ID"/* "$KEYS"
  for _ in 1 2; do
    snapshot >"$BATS_TEST_TMPDIR/before"
    run --separate-stderr bash "$BIN/configure.sh"
    [ "$status" -eq 0 ]
    [ -z "$(calls 'systemctl (restart|start|stop)')" ]
    [[ "$stderr" == *"restarted: none"* ]]
    snapshot >"$BATS_TEST_TMPDIR/after"
    diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
  done
  [ -z "$(calls useradd)" ]
}

@test "second boot after power-off: services not running are started, not restarted" {
  boot knc
  rm -f "$STUB_STATE"/kubelet.service.active
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = kubelet ]
  [ -z "$(calls 'systemctl restart')" ]
}

@test "restart.sh's digest of a service: one line per input file, each its digest (or absent) and one VM path" {
  boot knc
  local f
  for f in "$PODPLANE_ROOT"/opt/podplane/state/*.digest; do
    # services.tsv's inputs column once split at its commas, never as one comma-joined "path"
    not grep -Ev '^([0-9a-f]{64}|absent) /[^,]+$' "$f"
  done
  grep -qx "absent /opt/crt/kubelet.server.crt" "$PODPLANE_ROOT/opt/podplane/state/kubelet.digest"
}

@test "a knd VM never gets knc services, even when user-data carries knc variables" {
  install_kind knd
  write_user_data NETSY_BUCKET=b KUBE_API_ETCD_SERVERS=http://10.0.0.1:2379
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = "$(runs knd)" ]
  for svc in netsy kube-apiserver kube-scheduler kube-controller-manager; do
    [ ! -e "$(env_file "$svc")" ]
    not grep -q "$svc" "$STUB_LOG"
  done
}

@test "user-data for the other kind (VMCONFIG_KIND) is refused and nothing is persisted" {
  install_kind knd
  write_user_data VMCONFIG_KIND=knc
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"VMCONFIG_KIND is knc, but this image is knd"* ]]
  [ -z "$(calls systemctl)" ]
  [ ! -e "$ETC/detected.env" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/bootstrap.done" ]
}

@test "provider rules: Podplane's four kinds; aws needs AWS_ACCOUNT_ID and CLUSTER_ID; google needs GOOGLE_PROJECT_ID" {
  install_kind knd
  write_user_data PROVIDER_KIND=qemu
  refused_unchanged "PROVIDER_KIND: expected local, aws, google or proxmox"
  write_user_data PROVIDER_KIND=aws
  refused_unchanged "AWS_ACCOUNT_ID is required when PROVIDER_KIND is aws"
  write_user_data PROVIDER_KIND=aws AWS_ACCOUNT_ID=123456789012 CLUSTER_ID=
  refused_unchanged "CLUSTER_ID is required when PROVIDER_KIND is aws"
  write_user_data PROVIDER_KIND=google
  refused_unchanged "GOOGLE_PROJECT_ID is required when PROVIDER_KIND is google"
  [ ! -e "$ETC/detected.env" ]
}

@test "an invalid or unknown user-data variable is refused naming it" {
  install_kind knc
  write_user_data KUBE_API_PORT=http
  refused_unchanged "KUBE_API_PORT: expected a port number"
  write_user_data LD_PRELOAD=/tmp/x.so
  refused_unchanged "unknown variable LD_PRELOAD"
  write_user_data OIDC_CA_FILE_EFFECTIVE=/etc/shadow
  refused_unchanged "OIDC_CA_FILE_EFFECTIVE cannot be set"
}

@test "provider aws: INSTANCE_PROVIDER_ID from cloud-init query, kube2iam gets its env file" {
  install_kind knd
  echo "us-east-1a i-0abc123" >"$STUB_STATE/cloud-init-query"
  write_user_data PROVIDER_KIND=aws AWS_ACCOUNT_ID=123456789012
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  grep -qx "INSTANCE_PROVIDER_ID='aws:///us-east-1a/i-0abc123'" "$ETC/detected.env"
  [ -f "$(env_file kube2iam)" ]
  [ "$(units_called start)" = "$(runs knd PROVIDER_KIND=aws)" ]
  [[ " $(units_called start) " == *" kube2iam "* ]]
  [ -z "$(calls 'systemctl (enable|disable|daemon-reload)')" ]
}

@test "provider aws/google without cloud-init: PROVIDER_ZONE and cloud-init's instance-id file" {
  install_kind knd
  mkdir -p "$PODPLANE_ROOT/var/lib/cloud/data"
  echo i-0fromfile >"$PODPLANE_ROOT/var/lib/cloud/data/instance-id"
  write_user_data PROVIDER_KIND=google GOOGLE_PROJECT_ID=proj-1 PROVIDER_ZONE=europe-west1-b
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  grep -qx "INSTANCE_PROVIDER_ID='gce://proj-1/europe-west1-b/i-0fromfile'" "$ETC/detected.env"
}

@test "a service that fails to start: the others start, its digest is not recorded, the next run starts it again" {
  install_kind knc
  write_user_data
  echo kube-scheduler.service >"$STUB_STATE/fail-start"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"kube-scheduler.service did not start"* ]]
  [[ "$stderr" == *"timings: "* ]]
  [ -f "$STUB_STATE/kubelet.service.active" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/state/kube-scheduler.digest" ]
  rm "$STUB_STATE/fail-start"
  clear_calls
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = kube-scheduler ]
  [ -z "$(calls 'systemctl restart')" ]
}

@test "IP detection: the address on the default route's device wins (/proc/net/route); FQDN from the kernel name" {
  install_kind knd
  write_user_data
  cat >"$BATS_TEST_TMPDIR/bin/ip" <<'STUB'
#!/usr/bin/env bash
echo "2: eth0    inet 192.0.2.10/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever"
echo "3: eth1    inet 10.1.0.7/16 brd 10.1.255.255 scope global eth1\\       valid_lft forever"
echo "3: eth1    inet6 2001:db8::7/64 scope global \\       valid_lft forever"
STUB
  mkdir -p "$PODPLANE_ROOT/proc/net" "$PODPLANE_ROOT/proc/sys/kernel"
  printf 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' >"$PODPLANE_ROOT/proc/net/route"
  printf 'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n' >>"$PODPLANE_ROOT/proc/net/route"
  printf 'eth1\t00000000\t0100010A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' >>"$PODPLANE_ROOT/proc/net/route"
  echo i-0123.ec2.internal >"$PODPLANE_ROOT/proc/sys/kernel/hostname"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  grep -qx "INSTANCE_HOSTNAME='i-0123'" "$ETC/detected.env"
  grep -qx "INSTANCE_FQDN='i-0123.ec2.internal'" "$ETC/detected.env"
  grep -qx "INSTANCE_NETDEV='eth1'" "$ETC/detected.env"
  grep -qx "INSTANCE_IPV4='10.1.0.7'" "$ETC/detected.env"
  grep -qx "INSTANCE_IPV6='2001:db8::7'" "$ETC/detected.env"
}

@test "no IPv4 address yet: bootstrap waits (bounded), fails clearly, persists nothing; a later run detects" {
  install_kind knc
  write_user_data
  touch "$STUB_STATE/no-address"
  export PODPLANE_ADDRESS_WAIT_SECONDS=1
  SECONDS=0
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [ "$SECONDS" -ge 1 ]
  [[ "$stderr" == *"waiting up to 1 s for an IPv4 address"* ]]
  [[ "$stderr" == *"no IPv4 address on any device (no default route) after 1 s: nothing written; the next configure run detects again"* ]]
  [[ "$(calls logger)" == *"no IPv4 address"* ]]
  [ ! -e "$ETC/detected.env" ]
  [ ! -e "$ETC/mutable.env" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/bootstrap.done" ]
  [ -z "$(find "$PODPLANE_ROOT/opt/env" -name '*.env' 2>/dev/null)" ]
  [ -z "$(calls 'systemctl (start|restart)')" ]
  rm "$STUB_STATE/no-address"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  grep -qx "INSTANCE_IPV4='10.0.2.15'" "$ETC/detected.env"
  [ -f "$PODPLANE_ROOT/opt/podplane/bootstrap.done" ]
}

@test "env files read back identically by bash (and use systemd EnvironmentFile quoting)" {
  install_kind knc
  # fluent-bit's env file carries the role: telemetry on (Podplane's default is off).
  write_user_data TELEMETRY_ENABLED=true 'TELEMETRY_S3_ASSUME_ROLE=arn:aws:iam::1:role/a "b" \c'
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  # shellcheck disable=SC1090
  value=$(source "$(env_file fluent-bit)" && printf '%s' "$TELEMETRY_S3_ASSUME_ROLE")
  [ "$value" = 'arn:aws:iam::1:role/a "b" \c' ]
  grep -qx 'TELEMETRY_S3_ASSUME_ROLE="arn:aws:iam::1:role/a \\"b\\" \\\\c"' "$(env_file fluent-bit)"
}

@test "NSTANCE_CA_CERT base64-encoded (Podplane's configure decodes it) is accepted; a non-certificate is refused" {
  install_kind knd
  write_user_data "NSTANCE_CA_CERT=$(base64 -w0 "$NSTANCE_CA_PEM")"
  rm "$ID/ca.crt"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  cmp "$NSTANCE_CA_PEM" "$ID/ca.crt"
  write_user_data "NSTANCE_CA_CERT=$(printf 'not a cert\n' | base64 -w0)"
  refused_unchanged "NSTANCE_CA_CERT: not a PEM certificate"
}

@test "identity: no nonce.jwt and no identity.crt is a clear failure; identity.crt alone is fine" {
  install_kind knd
  write_user_data
  rm "$ID/nonce.jwt"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"has neither nonce.jwt (before registration) nor identity.crt (after)"* ]]
  [ -z "$(calls 'systemctl start')" ]
  cp "$NSTANCE_CA_PEM" "$ID/identity.crt"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
}

@test "SSH: immutable + SSH_AUTHORIZED_KEYS + SSH_AUTHORIZED_KEY deduplicated for admin; none removes the file and the old root file" {
  install_kind knd
  mkdir -p "$ETC/ssh"
  echo old >"$ETC/ssh/authorized_keys.root"
  write_user_data "SSH_AUTHORIZED_KEYS=$SSH_KEY_2" "SSH_AUTHORIZED_KEY=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIThird carol"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(cat "$KEYS")" = "$SSH_KEY_1"$'\n'"$SSH_KEY_2"$'\n'"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIThird carol" ]
  [ ! -e "$ETC/ssh/authorized_keys.root" ]
  write_user_data IMMUTABLE_SSH_AUTHORIZED_KEYS=
  sed -i "s/^SSH_AUTHORIZED_KEYS=.*/SSH_AUTHORIZED_KEYS=''/; s/^SSH_AUTHORIZED_KEY=.*/SSH_AUTHORIZED_KEY=''/" "$ETC/mutable.env"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ ! -e "$KEYS" ]
}

@test "OIDC_CA_CERT (base64) becomes /opt/crt/oidc-ca.pem and OIDC_CA_FILE_EFFECTIVE; the seed's OIDC_CUSTOM_CA + OIDC_CA_FILE still work" {
  install_kind knc
  write_user_data "OIDC_CA_CERT=$(base64 -w0 "$OIDC_CA_PEM")"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  cmp "$OIDC_CA_PEM" "$PODPLANE_ROOT/opt/crt/oidc-ca.pem"
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/crt/oidc-ca.pem")" = 640 ]
  # a second run decodes nothing (no base64 fork) and changes nothing
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  not grep -qx base64 "$EXEC_LOG"
  sed -i "s/^OIDC_CA_CERT=.*/OIDC_CA_CERT=''/; s/^OIDC_CUSTOM_CA=.*/OIDC_CUSTOM_CA='true'/; s|^OIDC_CA_FILE=.*|OIDC_CA_FILE='/opt/oidc/ca.pem'|" "$ETC/mutable.env"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ ! -e "$PODPLANE_ROOT/opt/crt/oidc-ca.pem" ]
  sed -i "s|^OIDC_CA_FILE=.*|OIDC_CA_FILE=''|" "$ETC/mutable.env"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"OIDC_CUSTOM_CA is true but OIDC_CA_FILE is empty"* ]]
}

@test "config writers: services/<svc>/configure.sh is sourced, configure_<svc> stages files through stage_file" {
  cp -r "$VMCONFIG_TREE/opt/podplane" "$BATS_TEST_TMPDIR/pp"
  mkdir -p "$BATS_TEST_TMPDIR/pp/services/kube-scheduler"
  cat >"$BATS_TEST_TMPDIR/pp/services/kube-scheduler/configure.sh" <<'WRITER'
configure_kube_scheduler() {
  [[ -d "$PODPLANE_ROOT/opt/kube-scheduler" ]] || mkdir -p "$PODPLANE_ROOT/opt/kube-scheduler"
  stage_file "$PODPLANE_ROOT/opt/kube-scheduler/config" 0640 "level=${ENV[KUBE_LOG_LEVEL]} node=${ENV[INSTANCE_ID]}"$'\n' root:kube-scheduler
}
WRITER
  install_kind knc
  write_user_data KUBE_LOG_LEVEL=3
  run --separate-stderr bash "$BATS_TEST_TMPDIR/pp/bin/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(cat "$PODPLANE_ROOT/opt/kube-scheduler/config")" = "level=3 node=i-0123" ]
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/kube-scheduler/config")" = 640 ]
  # owners are not changed under PODPLANE_ROOT (tests)
  [ -z "$(calls chown)" ]
}

# Hostile user-data.env values: each refused naming the file, line and variable, before anything
# is written (first boot) and with every file left as it was (later boots).
@test "hostile user-data.env: command substitution, quotes, newlines in single-line fields change nothing" {
  install_kind knc
  write_user_data
  local ud="$ETC/user-data.env" good
  good=$(cat "$ud")
  hostile() {
    printf '%s\n%s\n' "$good" "$1" >"$ud"
    refused_unchanged "$2"
    [ ! -e "$BATS_TEST_TMPDIR/pwned" ]
  }
  for round in first-boot later-boot; do
    hostile "KUBE_API_PUBLIC_HOSTNAME=\$(touch $BATS_TEST_TMPDIR/pwned)" "user-data.env line 27: KUBE_API_PUBLIC_HOSTNAME: the value is not quoted"
    hostile "KUBE_API_PUBLIC_HOSTNAME='\$(touch $BATS_TEST_TMPDIR/pwned)'" 'KUBE_API_PUBLIC_HOSTNAME: contains $ or a backtick'
    hostile "NETSY_ACCESS_KEY_ID='\`touch $BATS_TEST_TMPDIR/pwned\`'" 'NETSY_ACCESS_KEY_ID: contains $ or a backtick'
    hostile "KUBE_API_PORT='6443'; touch $BATS_TEST_TMPDIR/pwned" "line 27: KUBE_API_PORT: the value is not quoted"
    hostile "KUBE_LOG_LEVEL='4"$'\n'"KUBE_API_PORT=1'" "line 27: KUBE_LOG_LEVEL: the value continues on the next line"
    hostile "NETSY_BUCKET='unterminated" "line 27: NETSY_BUCKET: the value continues on the next line"
    hostile "IMMUTABLE_SSH_AUTHORIZED_KEYS='never closed" "IMMUTABLE_SSH_AUTHORIZED_KEYS is set twice"
    hostile "export PATH=/tmp" "line 27: expected NAME='value'"
    if [[ "$round" == first-boot ]]; then
      [ ! -e "$ETC/detected.env" ] && [ ! -e "$PODPLANE_ROOT/opt/podplane/bootstrap.done" ]
      printf '%s\n' "$good" >"$ud"
      bash "$BIN/configure.sh" 2>/dev/null
    fi
  done
}

# The boot path forks and execs as little as possible (each one costs tens of ms on an emulated
# VM): see docs/vmconfig.md "Performance". These bounds keep it that way.
@test "external commands: a second configure run execs at most 5 (restart.sh, flock, sha256sum, one systemctl, logger)" {
  boot knc
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"restarted: none"* ]]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 5 ]
  [ "$(grep -c '^systemctl$' "$EXEC_LOG")" -eq 1 ]
  # under systemd (JOURNAL_STREAM set) the timings line needs no logger
  : >"$EXEC_LOG"
  run --separate-stderr env PATH="$COUNTED_PATH" JOURNAL_STREAM=8:1 "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(wc -l <"$EXEC_LOG")" -le 4 ]
}

# First boot, knc, every service with a config writer (Podplane's defaults): 29 =
#   bash 2 (bootstrap.sh, restart.sh), flock 1, ip 1 + hostname 1 (detection),
#   useradd 1 + install 1 (admin and ~admin/.ssh), install 2 (/etc/sudoers.d and /opt/env: there
#   on a VM already, from Debian and tmpfiles.d, so no fork there), chmod 1 (the identity files),
#   mkdir 3 (one per commit: bootstrap, configure, restart; each makes all the staging and room
#   directories at once), mv 11 (one per directory written: etc; /opt/env, sudoers.d, .ssh and
#   the six rooms' config directories; state), systemctl 3 (is-active, start, show: which units
#   wait for a ConditionPathExists=), sha256sum 1, logger 1 (none under systemd).
# (Before stage_file staged in memory and made its directories in one mkdir at commit: 45, with
# 18 mkdir.)
# A delivered mutable.env change: 11 = bash 3 (update-mutable-env.sh, configure.sh, restart.sh),
#   flock 1 (the watcher's: the scripts it runs inherit the lock), mv 3 (mutable.env, /opt/env,
#   state), systemctl 2 (is-active, restart: only a start can be skipped for a condition, so no
#   show), sha256sum 1, logger 1.
@test "external commands: a first boot execs at most 29 (one mkdir per commit), a delivered update at most 11 (one flock)" {
  install_kind knc
  write_user_data
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 29 ]
  [ "$(grep -c '^mkdir$' "$EXEC_LOG")" -le 3 ]
  [ "$(grep -c '^systemctl$' "$EXEC_LOG")" -eq 3 ]
  mkdir -p "$PODPLANE_ROOT/opt/nstance-agent/recv"
  printf "KUBE_LOG_LEVEL='5'\n" >"$PODPLANE_ROOT/opt/nstance-agent/recv/mutable.env"
  : >"$EXEC_LOG"
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 11 ]
  [ "$(grep -c '^flock$' "$EXEC_LOG")" -eq 1 ]
  [ "$(grep -c '^systemctl$' "$EXEC_LOG")" -eq 2 ]
  [ "$(units_called restart)" = "$(sorted kubelet kube-apiserver kube-scheduler kube-controller-manager)" ]
}
