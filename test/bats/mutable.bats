#!/usr/bin/env bats
# update-mutable-env.sh and nstance-recv-watch.sh: delivered updates restart only the services
# that use a changed variable; any invalid line leaves mutable.env byte-for-byte unchanged.

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

# assert_rejected REASON: update-mutable-env exits 1 naming REASON, mutable.env unchanged, journal told.
assert_rejected() {
  run --separate-stderr bash "$BIN/update-mutable-env.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"rejected"*"$1"* ]]
  cmp "$MUTABLE" "$BATS_TEST_TMPDIR/mutable.before"
  [ -n "$(calls logger)" ]
}

@test "a delivered change of one variable restarts only the services that use it" {
  deliver $'KUBE_LOG_LEVEL=5\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = "kube-apiserver kube-controller-manager kube-scheduler kubelet" ]
  [ -z "$(calls 'systemctl start')" ]
  grep -qx "KUBE_LOG_LEVEL='5'" "$MUTABLE"
  grep -qx 'KUBE_LOG_LEVEL="5"' "$(env_file kubelet)"
}

@test "a telemetry change restarts fluent-bit alone; delivering the same values again restarts nothing" {
  deliver $'TELEMETRY_LOG_SERVICES="kubelet,netsy"\nTELEMETRY_ENABLED=true\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = fluent-bit ]
  clear_calls
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ -z "$(calls 'systemctl restart')" ]
}

@test "REGISTRY_ENABLED=true starts zot and restarts containerd; false stops zot; never enable/disable" {
  deliver $'REGISTRY_ENABLED=true\nREGISTRY_HOSTNAME=registry.example.com\nREGISTRY_BUCKET=images\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = zot ]
  [ "$(units_called restart)" = containerd ]
  [ -z "$(calls 'systemctl (enable|disable|daemon-reload)')" ]
  clear_calls
  deliver $'REGISTRY_ENABLED=false\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called stop)" = zot ]
  [ "$(units_called restart)" = containerd ]
  [ -z "$(calls 'systemctl (start|enable|disable|daemon-reload)')" ]
  [ ! -e "$(env_file zot)" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/state/zot.digest" ]
}

@test "a delivered config file is copied 0600 and restarts only its service" {
  mkdir -p "$RECV/config/kube-scheduler"
  echo "apiVersion: v1" >"$RECV/config/kube-scheduler/kubeconfig"
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = kube-scheduler ]
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/podplane/etc/config/kube-scheduler/kubeconfig")" = 600 ]
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/podplane/etc/config/kube-scheduler")" = 700 ]
}

@test "values are stored single-quoted: sourcing mutable.env runs nothing and reads the value back" {
  deliver "SSH_AUTHORIZED_KEY=ssh-ed25519 AAAA it's \"mine\" ; touch $BATS_TEST_TMPDIR/pwned"$'\n'
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
  deliver $'KUBE_LOG_LEVEL=5\nPATH=/tmp\n'
  assert_rejected "PATH is not one of the 36 mutable variables"
}

@test "a value with \$(...) is rejected" {
  deliver "KUBE_API_PUBLIC_HOSTNAME=\$(touch $BATS_TEST_TMPDIR/pwned)"$'\n'
  assert_rejected 'KUBE_API_PUBLIC_HOSTNAME: contains $ or a backtick'
  [ ! -e "$BATS_TEST_TMPDIR/pwned" ]
}

@test "a value with backticks is rejected" {
  deliver "NETSY_ACCESS_KEY_ID=\`touch $BATS_TEST_TMPDIR/pwned\`"$'\n'
  assert_rejected 'NETSY_ACCESS_KEY_ID: contains $ or a backtick'
}

@test "a value with a newline is rejected" {
  deliver $'SSH_AUTHORIZED_KEY="ssh-ed25519 AAAA\nKUBE_LOG_LEVEL=9"\n'
  assert_rejected "unterminated quote"
}

@test "a CRLF file is rejected" {
  deliver $'KUBE_LOG_LEVEL=5\r\nTELEMETRY_ENABLED=true\r\n'
  assert_rejected "carriage return"
}

@test "a NUL byte is rejected" {
  printf 'KUBE_LOG_LEVEL=5\0\n' >"$RECV/mutable.env"
  assert_rejected "NUL"
}

@test "an oversized value is rejected" {
  deliver "SSH_AUTHORIZED_KEY=ssh-ed25519 $(head -c 5000 /dev/zero | tr '\0' A)"$'\n'
  assert_rejected "SSH_AUTHORIZED_KEY: longer than 4096 bytes"
}

@test "a boolean that is not true/false, a port that is not a number, a bad endpoint are rejected" {
  deliver $'TELEMETRY_ENABLED=yes\n'
  assert_rejected "TELEMETRY_ENABLED: expected true or false"
  deliver $'KUBE_API_PORT=64k\n'
  assert_rejected "KUBE_API_PORT: expected a port number"
  deliver $'NETSY_ENDPOINT=not an endpoint\n'
  assert_rejected "NETSY_ENDPOINT: expected a URL or host:port"
}

@test "a symbolic link delivered as mutable.env or as a service's config dir is refused" {
  ln -s "$PODPLANE_ROOT/opt/podplane/etc/user-data.env" "$RECV/mutable.env"
  assert_rejected "symbolic link"
  rm "$RECV/mutable.env"
  mkdir -p "$BATS_TEST_TMPDIR/elsewhere" "$RECV/config"
  echo secret >"$BATS_TEST_TMPDIR/elsewhere/kubeconfig"
  ln -s "$BATS_TEST_TMPDIR/elsewhere" "$RECV/config/kube-scheduler"
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"ignoring delivered config for kube-scheduler: a symbolic link"* ]]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/etc/config/kube-scheduler/kubeconfig" ]
}

@test "one bad line among good ones rejects everything, and recv-watch applies nothing" {
  deliver $'KUBE_LOG_LEVEL=7\nREGISTRY_ENABLED=1\n'
  run --separate-stderr bash "$BIN/nstance-recv-watch.sh"
  [ "$status" -eq 1 ]
  cmp "$MUTABLE" "$BATS_TEST_TMPDIR/mutable.before"
  [ -z "$(calls 'systemctl restart')" ]
}
