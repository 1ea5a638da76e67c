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
  grep -qx "NODE_IPV6='fec0::5054:ff:fe12:3456'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/podplane/etc/detected.env")" = 644 ]
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

@test "provider aws: kube2iam gets its env file and is started (enabled at bake time, nothing enabled at boot)" {
  install_kind knd
  write_user_data knd
  sed -i "s/^PROVIDER=.*/PROVIDER='aws'/" "$PODPLANE_ROOT/opt/podplane/etc/user-data.env"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ -f "$(env_file kube2iam)" ]
  [ "$(units_called start)" = "$(sorted "$KND_SERVICES kube2iam")" ]
  [ -z "$(calls 'systemctl (enable|disable|daemon-reload)')" ]
  grep -qx 'ConditionPathExists=/opt/env/kube2iam.env' "$PODPLANE_ROOT/etc/systemd/system/kube2iam.service"
}

@test "first boot: one is-active for all units, one start for all services, no enable or reload" {
  install_kind knc
  write_user_data knc
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(invocations systemctl | wc -l)" -eq 2 ]
  [ "$(invocations 'systemctl is-active' | wc -w)" -eq $((3 + 10)) ]
  [ "$(invocations 'systemctl start' | wc -l)" -eq 1 ]
  [ "$(units_called start)" = "$(sorted "$KNC_SERVICES")" ]
}

@test "a service that fails to start: the others start, its digest is not recorded, the next run starts it again" {
  install_kind knc
  write_user_data knc
  echo kube-scheduler.service >"$STUB_STATE/fail-start"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"kube-scheduler.service did not start"* ]]
  [[ "$stderr" == *"failed to start, restart or stop: kube-scheduler"* ]]
  [ -f "$STUB_STATE/kubelet.service.active" ]
  [ -f "$PODPLANE_ROOT/opt/podplane/state/kubelet.digest" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/state/kube-scheduler.digest" ]
  rm "$STUB_STATE/fail-start"
  clear_calls
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = kube-scheduler ]
  [ -z "$(calls 'systemctl restart')" ]
  [ -f "$PODPLANE_ROOT/opt/podplane/state/kube-scheduler.digest" ]
}

@test "IP detection: the address on the default route's interface wins (/proc/net/route)" {
  install_kind knd
  write_user_data knd
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
  echo node-from-proc >"$PODPLANE_ROOT/proc/sys/kernel/hostname"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  grep -qx "NODE_HOSTNAME='node-from-proc'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
  grep -qx "NODE_IPV4='10.1.0.7'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
  grep -qx "NODE_IPV6='2001:db8::7'" "$PODPLANE_ROOT/opt/podplane/etc/detected.env"
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

# The boot path forks and execs as little as possible (each one costs tens of ms on an emulated
# VM): see docs/vmconfig.md "Performance". These bounds keep it that way.
@test "external commands: a second configure run execs at most 4 (restart.sh, flock, sha256sum, one systemctl)" {
  boot knc
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"restarted: none"* ]]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 4 ]
  [ "$(grep -c '^systemctl$' "$EXEC_LOG")" -eq 1 ]
}

@test "external commands: a first boot execs at most 16, a delivered update at most 12" {
  install_kind knc
  write_user_data knc
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 16 ]
  [ "$(grep -c '^systemctl$' "$EXEC_LOG")" -eq 2 ]
  mkdir -p "$PODPLANE_ROOT/opt/nstance-agent/recv"
  printf 'KUBE_LOG_LEVEL=5\n' >"$PODPLANE_ROOT/opt/nstance-agent/recv/mutable.env"
  : >"$EXEC_LOG"
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  sort "$EXEC_LOG" | uniq -c
  [ "$(wc -l <"$EXEC_LOG")" -le 12 ]
}
