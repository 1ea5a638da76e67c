#!/usr/bin/env bats
# restart.sh with services to start and services to restart in the same run (a delivery that
# brings the certificates some services waited for and changes a running service's inputs):
# both verbs are issued at once, both are waited for, and a failure of either is reported.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
}

# A knc boot where kubelet waited for its inputs; then KUBE_LOG_LEVEL changes (the env of the
# three running control-plane services, and of kubelet) and kubelet's condition holds.
both_pending() {
  install_kind knc
  write_user_data
  echo kubelet.service >"$STUB_STATE/condition-fails"
  bash "$BIN/configure.sh" 2>/dev/null
  rm -f "$STUB_STATE/condition-fails"
  clear_calls
  local mutable="$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  cp "$PODPLANE_ROOT/opt/podplane/state/kube-apiserver.digest" "$BATS_TEST_TMPDIR/kube-apiserver.digest.before"
  if grep -q "^KUBE_LOG_LEVEL=" "$mutable"; then
    sed -i "s/^KUBE_LOG_LEVEL=.*/KUBE_LOG_LEVEL='4'/" "$mutable"
  else
    echo "KUBE_LOG_LEVEL='4'" >>"$mutable"
  fi
}

@test "starts and restarts in one run: both issued, both waited for" {
  both_pending
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called start)" = kubelet ]
  [ "$(units_called restart)" = "$(sorted "kube-apiserver kube-scheduler kube-controller-manager")" ]
  [[ "$stderr" == *"started: kubelet; restarted: kube-apiserver kube-scheduler kube-controller-manager;"* ]]
}

@test "a start that fails alongside a restart: named, the restart still done and recorded" {
  both_pending
  echo kubelet.service >"$STUB_STATE/fail-start"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"kubelet.service did not start"* ]]
  [[ "$stderr" == *"failed to start, restart or stop: kubelet"* ]]
  [ "$(units_called restart)" = "$(sorted "kube-apiserver kube-scheduler kube-controller-manager")" ]
  # the restart's new inputs recorded
  ! cmp -s "$BATS_TEST_TMPDIR/kube-apiserver.digest.before" "$PODPLANE_ROOT/opt/podplane/state/kube-apiserver.digest"
}
