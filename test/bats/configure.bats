#!/usr/bin/env bats
# configure.sh / bootstrap.sh / restart.sh in a temporary PODPLANE_ROOT with a stub systemctl.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
}

@test "missing user-data.env: clear failure, nothing started" {
  install_kind knc
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"user-data.env is missing"* ]]
  [ -z "$(calls systemctl)" ]
  [ ! -e "$PODPLANE_ROOT/opt/env/kubelet.env" ]
}

@test "first boot (knc): detected.env, seeded mutable.env, one env file per service, every service started" {
  install_kind knc
  write_user_data knc KUBE_LOG_LEVEL=4 NETSY_BUCKET=netsy-bucket
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = "$(sorted "$KNC_SERVICES")" ]
  [ -z "$(calls 'systemctl restart')" ]
  grep -qx "NODE_HOSTNAME='node-1'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
  grep -qx "NODE_IPV4='10.0.2.15'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
  # mutable.env: the 36 variables, defaults overridden by user-data's mutable values.
  [ "$(grep -c = "$PODPLANE_ROOT/opt/podplane/etc/mutable.env")" -eq 36 ]
  grep -qx "KUBE_LOG_LEVEL='4'" "$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  grep -qx "KUBE_API_PORT='6443'" "$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/podplane/etc/mutable.env")" = 600 ]
  # only the variables each service uses
  grep -qx 'KUBE_LOG_LEVEL="4"' "$(env_file kube-scheduler)"
  [ "$(wc -l <"$(env_file kube-scheduler)")" -eq 1 ]
  grep -qx 'NETSY_BUCKET="netsy-bucket"' "$(env_file netsy)"
  not grep -q NETSY "$(env_file kubelet)"
  [ "$(stat -c %a "$(env_file netsy)")" = 600 ]
  # kube2iam (provider is not aws) and zot (registry disabled) do not apply
  [ ! -e "$(env_file kube2iam)" ]
  [ ! -e "$(env_file zot)" ]
}

@test "second boot: same inputs, no file rewritten, nothing restarted or started" {
  boot knc
  touch -d '2000-01-01' "$PODPLANE_ROOT"/opt/env/*.env "$PODPLANE_ROOT"/opt/podplane/etc/*.env
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ -z "$(calls 'systemctl restart')" ]
  [ -z "$(calls 'systemctl start')" ]
  [ -z "$(find "$PODPLANE_ROOT/opt/env" "$PODPLANE_ROOT/opt/podplane/etc" -name '*.env' -newermt '2001-01-01')" ]
  [[ "$stderr" == *"restarted: none"* ]]
}

@test "second boot after power-off: services not running are started, not restarted" {
  boot knc
  rm -f "$STUB_STATE"/kubelet.service.active
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = kubelet ]
  [ -z "$(calls 'systemctl restart')" ]
}

@test "a knd VM never gets knc services, even when user-data carries knc variables" {
  install_kind knd
  write_user_data knd NETSY_BUCKET=b KUBE_API_ETCD_SERVERS=http://10.0.0.1:2379
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = "$(sorted "$KND_SERVICES")" ]
  for svc in netsy kube-apiserver kube-scheduler kube-controller-manager; do
    [ ! -e "$(env_file "$svc")" ]
    [ ! -e "$PODPLANE_ROOT/etc/systemd/system/$svc.service" ]
    [ ! -e "$PODPLANE_ROOT/opt/podplane/libexec/run-$svc.sh" ]
    not grep -q "$svc" "$STUB_LOG"
  done
}

@test "user-data for the other kind is refused" {
  install_kind knd
  write_user_data knc
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"PODPLANE_KIND"*"this image is knd"* ]]
  [ -z "$(calls systemctl)" ]
}

@test "an invalid user-data value is refused naming the variable" {
  install_kind knc
  write_user_data knc KUBE_API_PORT=http
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"KUBE_API_PORT"*"port"* ]]
  [ ! -e "$(env_file kubelet)" ]
}

@test "an unknown user-data variable is refused" {
  install_kind knc
  write_user_data knc LD_PRELOAD=/tmp/x.so
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"unknown variable LD_PRELOAD"* ]]
}

@test "provider aws: kube2iam gets its env file, is enabled and started" {
  install_kind knd
  write_user_data knd
  sed -i "s/^PROVIDER=.*/PROVIDER='aws'/" "$PODPLANE_ROOT/opt/podplane/etc/user-data.env"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ -f "$(env_file kube2iam)" ]
  [ -n "$(calls 'systemctl enable kube2iam.service')" ]
  [[ " $(units_called start) " == *" kube2iam "* ]]
}

@test "env files read back identically by bash (and use systemd EnvironmentFile quoting)" {
  install_kind knc
  write_user_data knc 'TELEMETRY_S3_ASSUME_ROLE=arn:aws:iam::1:role/a "b" \c' 'SSH_AUTHORIZED_KEY=ssh-ed25519 AAAA key  comment'
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  # shellcheck disable=SC1090
  value=$(source "$(env_file fluent-bit)" && printf '%s' "$TELEMETRY_S3_ASSUME_ROLE")
  [ "$value" = 'arn:aws:iam::1:role/a "b" \c' ]
  grep -qx 'TELEMETRY_S3_ASSUME_ROLE="arn:aws:iam::1:role/a \\"b\\" \\\\c"' "$(env_file fluent-bit)"
  [ "$(cat "$PODPLANE_ROOT/opt/podplane/etc/ssh/authorized_keys.root")" = "ssh-ed25519 AAAA key  comment" ]
}
