#!/usr/bin/env bats
# containerd starts at boot from files install.sh writes (bin/install.sh,
# write_containerd_boot_config): with the pause (sandbox) image preloaded, install.sh writes
# containerd's env file and config.toml with configure.sh's own code and records their digests as
# restart.sh does, so the first configure.sh finds containerd running (or still starting) with
# unchanged inputs and neither starts nor restarts it. Without a preloaded image install.sh writes
# none of it. The image import itself (a real containerd) is replaced by a stub here that reports
# the pause image as imported: test/standins/runtime.test.ts runs the real one.

bats_require_minimum_version 1.5.0
load helpers/vmconfig
load helpers/rooms-fixture

readonly PAUSE=registry.k8s.io/pause:3.10.2

setup() {
  vmconfig_setup
  fixture_stubs
  make_fixture_tree
  # What import-images.sh writes to its OUT file for one imported image.
  cat >"$FIXTURE_TREE/opt/podplane/services/containerd/import-images.sh" <<STUB
#!/usr/bin/env bash
printf '%s\tlinux/amd64\tsha256:%s\tsha256:%s\n' "$PAUSE" "$(printf 'a%.0s' {1..64})" "$(printf 'b%.0s' {1..64})" >"\$2"
STUB
  STAGE="$BATS_TEST_TMPDIR/stage"
  mkdir -p "$STAGE"
  : >"$STAGE/artifacts.tsv"
  STATE="$PODPLANE_ROOT/opt/podplane/state"
  CONFIG="$PODPLANE_ROOT/etc/containerd/config.toml"
  CONFIGURE="$PODPLANE_ROOT/opt/podplane/bin/configure.sh"
}

# install KIND [preloaded]: install.sh of the fixture tree; with "preloaded" the stage has an
# images.tsv, so the (stub) import runs and installed.json lists the pause image as preloaded.
install() {
  [[ "${2:-}" != preloaded ]] || printf 'the stub import reads nothing\n' >"$STAGE/images.tsv"
  run --separate-stderr bash "$FIXTURE_BIN/install.sh" "$1" "$STAGE"
  [ "$status" -eq 0 ]
  clear_calls
}

# files: containerd's env file, config.toml and digest, each as "mode uid:gid inode mtime sha256 path".
files() {
  local f
  for f in "$(env_file containerd)" "$CONFIG" "$STATE/containerd.digest"; do
    printf '%s %s %s\n' "$(stat -c '%a %u:%g %i %Y' "$f")" "$(sha256sum <"$f" | cut -d ' ' -f 1)" "${f#"$PODPLANE_ROOT"}"
  done
}

# configure: the first configure.sh (the user-data's), as on the VM, from the installed tree.
configure() {
  run --separate-stderr bash "$CONFIGURE"
  [ "$status" -eq 0 ]
}

@test "install.sh with a preloaded pause image: containerd's env file and config.toml with configure.sh's bytes, mode and owner, and restart.sh's digest of them" {
  for kind in knd knc; do
    rm -rf "$PODPLANE_ROOT" "$STUB_STATE"/*.active
    mkdir -p "$PODPLANE_ROOT"
    install "$kind" preloaded
    [[ "$stderr" == *"containerd: env file and config.toml written, their digests recorded"* ]]
    [ "$(jq -r '.images[0].preloaded' "$PODPLANE_ROOT/opt/podplane/share/installed.json")" = true ]
    [ ! -s "$(env_file containerd)" ]
    [ "$(stat -c %a "$(env_file containerd)")" = 600 ]
    [ "$(stat -c %a "$CONFIG")" = 644 ]
    [ "$(stat -c %a "$STATE/containerd.digest")" = 600 ]
    grep -qxF "      sandbox = \"$PAUSE\"" "$CONFIG"
    # nothing of the node: no registry hosts.toml, no other service's env file, no start
    [ ! -e "$PODPLANE_ROOT/etc/containerd/certs.d" ]
    [ "$(ls "$PODPLANE_ROOT/opt/env")" = containerd.env ]
    [ -z "$(calls 'systemctl (start|restart)')" ]
    files | cut -d ' ' -f 1,2,5,6 >"$BATS_TEST_TMPDIR/install.$kind"
    # What the first configure.sh writes and restart.sh records when install.sh wrote nothing:
    # the same bytes, modes and owners.
    rm -f "$(env_file containerd)" "$CONFIG" "$STATE/containerd.digest"
    write_user_data
    configure
    [[ " $(units_called start) " == *" containerd "* ]]
    files | cut -d ' ' -f 1,2,5,6 >"$BATS_TEST_TMPDIR/configure.$kind"
    diff "$BATS_TEST_TMPDIR/install.$kind" "$BATS_TEST_TMPDIR/configure.$kind"
  done
}

@test "the first configure.sh finds containerd running (started at boot) with unchanged inputs: no start, no restart, no file rewritten" {
  install knc preloaded
  files >"$BATS_TEST_TMPDIR/before"
  # systemd started it at boot: its unit's conditions (the two files) hold.
  touch "$STUB_STATE/containerd.service.active"
  write_user_data
  configure
  [[ " $(units_called start) " != *" containerd "* ]]
  [ -z "$(calls 'systemctl restart')" ]
  [[ "$stderr" == *"podplane-restart: started: "*"; restarted: none; stopped: none; unchanged: containerd;"* ]]
  files >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "containerd still starting (activating) with unchanged inputs: restart.sh's start joins that start, nothing is restarted" {
  install knc preloaded
  files >"$BATS_TEST_TMPDIR/before"
  touch "$STUB_STATE/containerd.service.activating"
  write_user_data
  configure
  # one `systemctl start` for every service not running, containerd among them: systemd merges
  # it into the start job under way and systemctl waits for that job
  [ "$(invocations 'systemctl start' | wc -l)" -eq 1 ]
  [[ " $(units_called start) " == *" containerd "* ]]
  [ -z "$(calls 'systemctl restart')" ]
  [[ "$stderr" == *"restarted: none;"* ]]
  files >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "a config.toml the node changes (pause image not preloaded, registry on) restarts containerd, running or still starting" {
  for state in active activating; do
    rm -rf "$PODPLANE_ROOT" "$STUB_STATE"/*.active "$STUB_STATE"/*.activating
    mkdir -p "$PODPLANE_ROOT"
    install knc preloaded
    cp "$STATE/containerd.digest" "$BATS_TEST_TMPDIR/digest.before"
    # The image without its import (as if the bake had not preloaded it): the sandbox image then
    # comes through the cluster registry's mirror, a node input.
    sed -i 's/, "preloaded": true//' "$PODPLANE_ROOT/opt/podplane/share/installed.json"
    touch "$STUB_STATE/containerd.service.$state"
    write_user_data REGISTRY_HOSTNAME=registry.example.com
    configure
    grep -qxF "      sandbox = \"registry.example.com/mirror/$PAUSE\"" "$CONFIG"
    [ "$(units_called restart)" = containerd ]
    [[ " $(units_called start) " != *" containerd "* ]]
    [[ "$stderr" == *"restarted: containerd;"* ]]
    # the new inputs recorded
    not cmp -s "$BATS_TEST_TMPDIR/digest.before" "$STATE/containerd.digest"
    grep -q " /etc/containerd/config.toml$" "$STATE/containerd.digest"
  done
}

@test "install.sh without a preloaded image writes none of it; the first configure.sh writes and starts containerd as before" {
  install knc
  [[ "$stderr" == *"containerd: no preloaded sandbox image: configure.sh writes its config at first boot"* ]]
  [ ! -e "$(env_file containerd)" ]
  [ ! -e "$CONFIG" ]
  [ ! -e "$STATE/containerd.digest" ]
  write_user_data
  configure
  [ -f "$CONFIG" ]
  [[ " $(units_called start) " == *" containerd "* ]]
  [ -f "$STATE/containerd.digest" ]
}

@test "install.sh again (preloaded): containerd's files and digest are not rewritten" {
  install knc preloaded
  touch -d '2000-01-01' "$(env_file containerd)" "$CONFIG" "$STATE/containerd.digest"
  files >"$BATS_TEST_TMPDIR/before"
  install knc preloaded
  files >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}
