#!/usr/bin/env bats
# install.sh from a fake stage directory: tiny artifacts made here (raw binaries, tar.gz
# archives, a .deb built with dpkg-deb), a stub dpkg/systemctl on PATH.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
  STAGE="$BATS_TEST_TMPDIR/stage"
  make_stage
}

# add_artifact NAME VERSION TYPE FILE: FILE (under $STAGE) listed in artifacts.tsv.
add_artifact() {
  printf '%s\t%s\t%s\tsha256:%s\t%s\n' "$1" "$2" "$3" "$(sha256sum "$STAGE/$4" | cut -d ' ' -f 1)" "$4" >>"$STAGE/artifacts.tsv.unsorted"
}

make_stage() {
  local src="$BATS_TEST_TMPDIR/src" name
  mkdir -p "$src"/{containerd/bin,cni,netsy,nstance,deb/DEBIAN,deb/opt/fluent-bit/bin} "$STAGE/artifacts"/{kubelet,kube-apiserver,runc,containerd,cni-plugins,netsy,nstance-agent,fluent-bit}
  printf '#!/bin/sh\necho kubelet\n' >"$STAGE/artifacts/kubelet/kubelet"
  printf '#!/bin/sh\necho kube-apiserver\n' >"$STAGE/artifacts/kube-apiserver/kube-apiserver"
  printf '#!/bin/sh\necho runc\n' >"$STAGE/artifacts/runc/runc.amd64"
  for name in containerd containerd-shim-runc-v2 ctr; do printf '#!/bin/sh\necho %s\n' "$name" >"$src/containerd/bin/$name"; done
  printf '#!/bin/sh\n' >"$src/cni/bridge"
  printf '#!/bin/sh\n' >"$src/cni/loopback"
  echo license >"$src/cni/LICENSE"
  printf '#!/bin/sh\necho netsy\n' >"$src/netsy/netsy"
  echo readme >"$src/netsy/README.md"
  printf '#!/bin/sh\necho nstance\n' >"$src/nstance/nstance-agent"
  tar -czf "$STAGE/artifacts/containerd/containerd-2.3.1-linux-amd64.tar.gz" -C "$src/containerd" bin
  tar -czf "$STAGE/artifacts/cni-plugins/cni-plugins-linux-amd64-v1.9.1.tgz" -C "$src/cni" ./bridge ./loopback ./LICENSE
  tar -czf "$STAGE/artifacts/netsy/netsy_1.1.0_linux_amd64.tar.gz" -C "$src/netsy" netsy README.md
  tar -czf "$STAGE/artifacts/nstance-agent/nstance-agent_1.2.3_linux_amd64.tar.gz" -C "$src/nstance" nstance-agent
  printf 'Package: fluent-bit\nVersion: 5.0.5\nArchitecture: amd64\nMaintainer: test <t@example.com>\nDescription: test\n' >"$src/deb/DEBIAN/control"
  printf '#!/bin/sh\n' >"$src/deb/opt/fluent-bit/bin/fluent-bit"
  dpkg-deb --root-owner-group -b "$src/deb" "$STAGE/artifacts/fluent-bit/fluent-bit_5.0.5_amd64.deb" >/dev/null
  add_artifact kubelet 1.36.1 binary artifacts/kubelet/kubelet
  add_artifact kube-apiserver 1.36.1 binary artifacts/kube-apiserver/kube-apiserver
  add_artifact runc 1.3.0 binary artifacts/runc/runc.amd64
  add_artifact containerd 2.3.1 tar.gz artifacts/containerd/containerd-2.3.1-linux-amd64.tar.gz
  add_artifact cni-plugins 1.9.1 tar.gz artifacts/cni-plugins/cni-plugins-linux-amd64-v1.9.1.tgz
  add_artifact netsy 1.1.0 tar.gz artifacts/netsy/netsy_1.1.0_linux_amd64.tar.gz
  add_artifact nstance-agent 1.2.3 tar.gz artifacts/nstance-agent/nstance-agent_1.2.3_linux_amd64.tar.gz
  add_artifact fluent-bit 5.0.5 deb artifacts/fluent-bit/fluent-bit_5.0.5_amd64.deb
  sort "$STAGE/artifacts.tsv.unsorted" >"$STAGE/artifacts.tsv"
}

@test "knc: binaries, archive contents and debs land at their runtime paths; installed.json records them" {
  run --separate-stderr bash "$BIN/install.sh" knc "$STAGE"
  [ "$status" -eq 0 ]
  for f in usr/local/bin/kubelet usr/local/bin/kube-apiserver usr/local/sbin/runc usr/local/bin/containerd \
    usr/local/bin/containerd-shim-runc-v2 usr/local/bin/ctr opt/cni/bin/bridge opt/cni/bin/loopback \
    usr/local/bin/netsy usr/local/bin/nstance-agent; do
    [ -x "$PODPLANE_ROOT/$f" ]
    [ "$(stat -c %a "$PODPLANE_ROOT/$f")" = 755 ]
  done
  [ ! -e "$PODPLANE_ROOT/opt/cni/bin/LICENSE" ]
  [ ! -e "$PODPLANE_ROOT/usr/local/bin/README.md" ]
  # all .debs in one dpkg -i call
  [ "$(calls dpkg | grep -c -- ' -i ')" -eq 1 ]
  [[ "$(calls dpkg)" == *"fluent-bit_5.0.5_amd64.deb"* ]]
  json="$PODPLANE_ROOT/opt/podplane/share/installed.json"
  [ "$(jq -r .kind "$json")" = knc ]
  [ "$(jq -r '.artifacts[] | select(.name == "runc") | .paths[0]' "$json")" = /usr/local/sbin/runc ]
  [ "$(jq -r '.artifacts[] | select(.name == "containerd") | .paths | length' "$json")" -eq 3 ]
  [ "$(jq -r '.artifacts[] | select(.name == "kubelet") | .digest' "$json")" = "sha256:$(sha256sum "$STAGE/artifacts/kubelet/kubelet" | cut -d ' ' -f 1)" ]
  [ "$(jq -r '.artifacts[] | select(.name == "fluent-bit") | .version' "$json")" = 5.0.5 ]
  [ "$(jq -r '.units | length' "$json")" -eq 13 ]
  # units installed; the always-on ones enabled; nothing started at bake time
  [ -f "$PODPLANE_ROOT/etc/systemd/system/kube-apiserver.service" ]
  [ -f "$PODPLANE_ROOT/etc/systemd/system/nstance-recv-watch.path" ]
  # every service of the kind, kube2iam and zot too: their ConditionPathExists= gates them
  [ "$(units_called enable)" = "$(sorted "$KNC_SERVICES kube2iam zot nstance-recv-watch.path podplane-configure")" ]
  [ "$(invocations 'systemctl enable' | wc -l)" -eq 1 ]
  for unit in "$PODPLANE_ROOT"/etc/systemd/system/*.service; do
    case "${unit##*/}" in podplane-configure.service | nstance-recv-watch.service) continue ;; esac
    svc=${unit##*/}
    grep -qx "ConditionPathExists=/opt/env/${svc%.service}.env" "$unit"
  done
  [ -z "$(calls 'systemctl (start|restart)')" ]
  [ "$(stat -c %a "$PODPLANE_ROOT/opt/env")" = 700 ]
}

@test "a tampered artifact is refused and nothing is installed" {
  printf 'x' >>"$STAGE/artifacts/containerd/containerd-2.3.1-linux-amd64.tar.gz"
  run --separate-stderr bash "$BIN/install.sh" knc "$STAGE"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"containerd"*"expected sha256:"* ]]
  [[ "$stderr" == *"refusing to install"* ]]
  [ ! -e "$PODPLANE_ROOT/usr/local/bin/kubelet" ]
  [ -z "$(calls dpkg)" ]
  [ -z "$(calls systemctl)" ]
}

@test "a missing staged file is refused" {
  rm "$STAGE/artifacts/runc/runc.amd64"
  run --separate-stderr bash "$BIN/install.sh" knc "$STAGE"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"runc"*"missing from the stage"* ]]
}

@test "re-running converges: no file rewritten, no dpkg, no enable" {
  bash "$BIN/install.sh" knc "$STAGE" 2>/dev/null
  clear_calls
  touch -d '2000-01-01' "$BATS_TEST_TMPDIR/marker"
  find "$PODPLANE_ROOT" -type f -exec touch -d '2000-01-01' {} +
  run --separate-stderr bash "$BIN/install.sh" knc "$STAGE"
  [ "$status" -eq 0 ]
  [ -z "$(find "$PODPLANE_ROOT" -type f -newer "$BATS_TEST_TMPDIR/marker")" ]
  [ -z "$(calls 'dpkg')" ]
  [ -z "$(calls 'systemctl enable')" ]
}

@test "knd: no knc binaries, wrappers, units or users even when the stage carries them" {
  run --separate-stderr bash "$BIN/install.sh" knd "$STAGE"
  [ "$status" -eq 0 ]
  [ ! -e "$PODPLANE_ROOT/usr/local/bin/kube-apiserver" ]
  [ ! -e "$PODPLANE_ROOT/usr/local/bin/netsy" ]
  [ ! -e "$PODPLANE_ROOT/etc/systemd/system/netsy.service" ]
  [ ! -e "$PODPLANE_ROOT/opt/podplane/libexec/run-kube-apiserver.sh" ]
  [ -f "$PODPLANE_ROOT/etc/systemd/system/zot.service" ]
  [ -f "$PODPLANE_ROOT/opt/podplane/libexec/run-kube2iam.sh" ]
  [ "$(units_called enable)" = "$(sorted "$KND_SERVICES kube2iam zot nstance-recv-watch.path podplane-configure")" ]
  [ "$(jq -r .kind "$PODPLANE_ROOT/opt/podplane/share/installed.json")" = knd ]
  [ "$(grep '^u ' "$PODPLANE_ROOT/usr/lib/sysusers.d/podplane.conf" | cut -d ' ' -f 2 | sort | tr '\n' ' ')" = "nstance zot " ]
  not grep -q netsy "$PODPLANE_ROOT/opt/podplane/share/installed.json"
}

@test "service users: zot, netsy and the Nstance agent run as their own system users; the rest as root" {
  run --separate-stderr bash "$BIN/install.sh" knc "$STAGE"
  [ "$status" -eq 0 ]
  conf="$PODPLANE_ROOT/usr/lib/sysusers.d/podplane.conf"
  grep -qx 'u zot - "Podplane zot" /var/lib/zot' "$conf"
  grep -qx 'u netsy - "Podplane netsy" /var/lib/netsy' "$conf"
  grep -qx 'u nstance - "Podplane nstance-agent" /' "$conf"
  [ "$(grep -c '^u ' "$conf")" -eq 3 ]
  [ "$(calls systemd-sysusers)" = "systemd-sysusers --root=$PODPLANE_ROOT $conf" ]
  for pair in zot:zot netsy:netsy nstance-agent:nstance; do
    unit="$PODPLANE_ROOT/etc/systemd/system/${pair%%:*}.service"
    grep -qx "User=${pair#*:}" "$unit"
    grep -qx "Group=${pair#*:}" "$unit"
  done
  for svc in kubelet containerd kube2iam fluent-bit kube-apiserver; do
    not grep -q '^User=' "$PODPLANE_ROOT/etc/systemd/system/$svc.service"
  done
  # zot and netsy keep their data in their StateDirectory= (owned by their user, by systemd)
  grep -qx 'StateDirectory=zot' "$PODPLANE_ROOT/etc/systemd/system/zot.service"
  grep -q -- '--data-dir=/var/lib/netsy' "$PODPLANE_ROOT/opt/podplane/libexec/run-netsy.sh"
  # the agent's recv dir is its own (tmpfiles.d, applied now and at every boot)
  grep -qx 'd /opt/nstance-agent/recv 0700 nstance nstance -' "$PODPLANE_ROOT/etc/tmpfiles.d/podplane.conf"
  [ "$(calls systemd-tmpfiles)" = "systemd-tmpfiles --root=$PODPLANE_ROOT --create $PODPLANE_ROOT/etc/tmpfiles.d/podplane.conf" ]
  # the users exist now: a second run does not call systemd-sysusers again
  clear_calls
  bash "$BIN/install.sh" knc "$STAGE" 2>/dev/null
  [ -z "$(calls systemd-sysusers)" ]
}

@test "bad usage: unknown kind, missing stage" {
  run --separate-stderr bash "$BIN/install.sh" kxx "$STAGE"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"unknown kind"* ]]
  run --separate-stderr bash "$BIN/install.sh" knc
  [ "$status" -eq 2 ]
}
