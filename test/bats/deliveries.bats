#!/usr/bin/env bats
# nstance-recv-watch.sh and restart.sh on an installed knc (or knd) tree: a delivery from Nstance
# (recv/) and the keys nstance-agent generated (keys/) land at their runtime places with their
# owners and modes, all or nothing; a burst of triggers gives one configure; a rotated
# certificate restarts exactly the services that read it.

bats_require_minimum_version 1.5.0
load helpers/vmconfig
load helpers/rooms-fixture

# One installed and booted root per kind for the whole file (install.sh alone takes seconds);
# each test starts from a copy of it.
setup_file() {
  local kind real_tmpdir=$BATS_TEST_TMPDIR
  for kind in knc knd; do
    BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR/$kind"
    mkdir -p "$BATS_TEST_TMPDIR"
    vmconfig_setup
    fixture_stubs
    make_fixture_tree
    fixture_install "$kind"
    write_user_data
    bash "$INSTALLED_BIN/configure.sh" 2>/dev/null
  done
  BATS_TEST_TMPDIR=$real_tmpdir
}

setup() {
  vmconfig_setup
  fixture_stubs
  RECV="$PODPLANE_ROOT/opt/nstance-agent/recv"
  KEYS="$PODPLANE_ROOT/opt/nstance-agent/keys"
  INSTALLED_BIN="$PODPLANE_ROOT/opt/podplane/bin"
  export PODPLANE_RECV_SETTLE=0
}

# boot_fixture KIND: this test's root is the booted KIND root (services running); clean call log.
boot_fixture() {
  cp -a "$BATS_FILE_TMPDIR/$1/root/." "$PODPLANE_ROOT/"
  cp -a "$BATS_FILE_TMPDIR/$1/stub-state/." "$STUB_STATE/"
  clear_calls
}

# pem LABEL: a PEM block with random content (the checks read the armour, not the DER).
pem() {
  printf -- '-----BEGIN %s-----\n' "$1"
  head -c 400 /dev/urandom | base64 -w 64
  printf -- '-----END %s-----\n' "$1"
}

# The names a knc node gets (recv) and the keys nstance-agent generates for them (keys).
KNC_CRTS="ca.crt containerd.client.crt front-proxy.client.crt kube-apiserver.client.crt kube-apiserver.server.crt kube2iam.client.crt kubelet.client.crt kubelet.server.crt netsy.client.crt netsy.server.crt registry.server.crt kube-controller-manager.client.crt kube-scheduler.client.crt"

# deliver_cert NAME: a new NAME.crt in recv/ and, unless it is the CA, its new key in keys/.
deliver_cert() {
  pem CERTIFICATE >"$RECV/$1"
  [[ "$1" == ca.crt ]] || pem 'EC PRIVATE KEY' >"$KEYS/${1%.crt}.key"
}

deliver_knc() {
  local n
  for n in $KNC_CRTS; do deliver_cert "$n"; done
  pem 'PUBLIC KEY' >"$RECV/ca.pub"
  pem 'PUBLIC KEY' >"$RECV/service-accounts.pub"
  pem 'PRIVATE KEY' >"$RECV/service-accounts.key"
}

# Every runtime file and directory with its mode and digest, to compare before and after.
snapshot() {
  (cd "$PODPLANE_ROOT" && find opt/crt opt/pub opt/key opt/env opt/podplane/etc -printf '%p %m\n' | sort &&
    find opt/crt opt/pub opt/key opt/env opt/podplane/etc -type f -exec sha256sum {} + | sort)
}

# chowned PATH: the owner:group a chown call gave PATH's staged copy (DIR/.delivery/NAME).
chowned() {
  local staged="$PODPLANE_ROOT${1%/*}/.delivery/${1##*/}"
  calls chown | while read -r _ _ who files; do
    [[ " $files " == *" $staged "* ]] && echo "$who"
  done
}

@test "a valid knc delivery lands with its owners and modes; the services reading it restart; configure runs once" {
  boot_fixture knc
  deliver_knc
  touch "$RECV/write-files.last"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'running configure.sh' <<<"$stderr")" -eq 1 ]
  [ ! -e "$RECV/write-files.last" ]
  local name kinds from dest mode owner group services
  while IFS=$'\t' read -r name kinds from dest mode owner group services; do
    [[ -z "$name" || "$name" == \#* || "$dest" == - ]] && continue
    if [[ "$from" == keys ]]; then src="$KEYS/$name"; else src="$RECV/$name"; fi
    cmp "$src" "$PODPLANE_ROOT$dest"
    [ "$(stat -c %a "$PODPLANE_ROOT$dest")" = "${mode#0}" ]
    [ "$(chowned "$dest")" = "$owner:$group" ]
  done <"$PODPLANE_ROOT/opt/podplane/share/deliveries.tsv"
  # each service's keys are in its own directory, readable by its group only
  [ "$(chowned /opt/key/kubelet/kubelet.server.key)" = root:kubelet ]
  [ "$(chowned /opt/key/registry/registry.server.key)" = root:zot ]
  [ "$(chowned /opt/key/kube-apiserver/front-proxy.client.key)" = root:kube-apiserver ]
  [ "$(chowned /opt/key/kube-controller-manager/service-accounts.key)" = root:kube-controller-manager ]
  cmp "$RECV/service-accounts.key" "$PODPLANE_ROOT/opt/key/kube-apiserver/service-accounts.key"
  [ "$(chowned /opt/crt/ca.crt)" = root:podplane ]
  # no staged file left behind
  [ -z "$(find "$PODPLANE_ROOT/opt/crt" "$PODPLANE_ROOT/opt/key" -path '*/.delivery/*' -type f)" ]
  # every running service that reads one of these files restarted (zot: registry.server.crt and
  # the CA it checks clients against; zot runs by Podplane's default REGISTRY_ENABLED=true), the
  # others did not
  [ "$(units_called restart)" = "$(sorted kube-apiserver kube-controller-manager kube-scheduler kubelet netsy zot)" ]
  [ -z "$(calls 'systemctl start')" ]
}

@test "a first knc delivery makes its ten staging directories (0700) with one mkdir" {
  boot_fixture knc
  deliver_knc
  touch "$RECV/write-files.last"
  exec_counting_path
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$INSTALLED_BIN/nstance-recv-watch.sh"
  echo "$stderr"
  [ "$status" -eq 0 ]
  sort "$EXEC_LOG" | uniq -c
  # the watcher's mkdir of the ten .delivery directories, and configure.sh's of its .staged ones
  [ "$(grep -c '^mkdir$' "$EXEC_LOG")" -le 2 ]
  [ "$(find "$PODPLANE_ROOT/opt" -type d -name .delivery | wc -l)" -eq 10 ]
  [ -z "$(find "$PODPLANE_ROOT/opt" -type d -name .delivery ! -perm 0700)" ]
}

@test "the same delivery again changes nothing and restarts nothing" {
  boot_fixture knc
  deliver_knc
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  clear_calls
  touch "$RECV/write-files.last"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"updated: none"* ]]
  [ -z "$(calls chown)" ]
  [ -z "$(calls 'systemctl restart')" ]
}

@test "rotating one certificate restarts exactly the services using it" {
  boot_fixture knc
  deliver_knc
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  clear_calls
  deliver_cert kubelet.server.crt
  touch "$RECV/write-files.last"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = kubelet ]
  [[ "$stderr" == *"updated: /opt/crt/kubelet.server.crt /opt/key/kubelet/kubelet.server.key"* ]]
  clear_calls
  deliver_cert kube-scheduler.client.crt
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  [ "$(units_called restart)" = kube-scheduler ]
  clear_calls
  deliver_cert ca.crt
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  [ "$(units_called restart)" = "$(sorted kube-apiserver kube-controller-manager kube-scheduler kubelet netsy zot)" ]
  clear_calls
  # containerd reads its registry client certificate at each pull: no restart
  deliver_cert containerd.client.crt
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  [ -z "$(calls 'systemctl restart')" ]
}

# assert_refused FILE REASON: exit 1, FILE and REASON on stderr and in the journal, nothing applied.
assert_refused() {
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"refused: $1: $2"* ]]
  [[ "$(calls logger)" == *"refused the delivery"*"$1: $2"* ]]
  [[ "$stderr" != *"running configure.sh"* ]]
  [ "$(snapshot)" = "$(cat "$BATS_TEST_TMPDIR/before")" ]
  [ -z "$(calls 'systemctl (start|restart|stop)')" ]
  [ -z "$(calls chown)" ]
}

# A valid delivery applied; then a new one with a rotated certificate and a mutable.env change
# that would apply, plus the hostile file the test adds.
hostile_setup() {
  boot_fixture knc
  deliver_knc
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  clear_calls
  deliver_cert kubelet.server.crt
  printf "KUBE_LOG_LEVEL='5'\n" >"$RECV/mutable.env"
  snapshot >"$BATS_TEST_TMPDIR/before"
}

@test "refused: a name not in the allowlist" {
  hostile_setup
  pem CERTIFICATE >"$RECV/evil.crt"
  assert_refused evil.crt "not a file Nstance may deliver"
}

@test "refused: a name with .." {
  hostile_setup
  pem CERTIFICATE >"$RECV/kubelet..crt"
  assert_refused kubelet..crt "unsafe file name"
}

@test "refused: a dot-file with .. (not an agent's file in flight)" {
  hostile_setup
  pem CERTIFICATE >"$RECV/..kubelet.server.crt"
  assert_refused ..kubelet.server.crt "unsafe file name"
}

@test "refused: a symbolic link, in recv/ or keys/" {
  hostile_setup
  rm "$RECV/ca.pub"
  ln -s /etc/passwd "$RECV/ca.pub"
  assert_refused ca.pub "a symbolic link"
  rm "$RECV/ca.pub"
  pem 'PUBLIC KEY' >"$RECV/ca.pub"
  rm "$KEYS/kubelet.client.key"
  ln -s /etc/shadow "$KEYS/kubelet.client.key"
  assert_refused /opt/nstance-agent/keys/kubelet.client.key "a symbolic link"
}

@test "refused: a directory" {
  hostile_setup
  rm "$RECV/ca.pub"
  mkdir "$RECV/ca.pub"
  assert_refused ca.pub "not a regular file"
}

@test "refused: a file over 64 KiB" {
  hostile_setup
  { for _ in $(seq 200); do pem CERTIFICATE; done; } >"$RECV/ca.crt"
  assert_refused ca.crt "larger than 65536 bytes"
}

@test "refused: not PEM, or PEM of the wrong type" {
  hostile_setup
  echo "hello" >"$RECV/kubelet.client.crt"
  assert_refused kubelet.client.crt "line 1: text outside a PEM block"
  { pem CERTIFICATE && pem 'PRIVATE KEY'; } >"$RECV/kubelet.client.crt"
  assert_refused kubelet.client.crt "line 12: a PRIVATE KEY block, expected PEM certificates"
  pem CERTIFICATE >"$RECV/kubelet.client.crt"
  pem CERTIFICATE >"$RECV/service-accounts.key"
  assert_refused service-accounts.key "line 1: a CERTIFICATE block, expected one PEM private key"
  { pem 'PRIVATE KEY' && pem 'PRIVATE KEY'; } >"$RECV/service-accounts.key"
  assert_refused service-accounts.key "2 PEM blocks"
  printf -- '-----BEGIN PUBLIC KEY-----\nAAAA\n' >"$RECV/service-accounts.pub"
  pem 'PRIVATE KEY' >"$RECV/service-accounts.key"
  assert_refused service-accounts.pub "the PUBLIC KEY block has no END line"
}

# pem_agrees NAME FILE: check_pem's whole-text match (pem_matches) accepts FILE only if the line
# walk (pem_walk) accepts it too; prints "match", "walk" (walk alone accepts) or "refused".
pem_agrees() {
  bash -c 'source "$1/lib/common.sh"; source "$1/lib/deliveries.sh"; LC_ALL=C
    IFS= read -r -d "" text <"$3" || true
    if pem_matches "$2" "$text"; then
      pem_walk "$2" "$text" || { echo "pem_matches accepted what pem_walk refuses: $DELIVERY_REASON"; exit 1; }
      echo match
    elif pem_walk "$2" "$text"; then echo walk; else echo refused; fi' _ "$PODPLANE_ROOT/opt/podplane" "$1" "$2"
}

@test "check_pem: a well-formed file is accepted whole; the whole-text match never accepts what the line walk refuses" {
  boot_fixture knc
  local f="$BATS_TEST_TMPDIR/pem" name
  # well formed: the whole-text match decides (no line walk)
  pem CERTIFICATE >"$f"
  [ "$(pem_agrees x.crt "$f")" = match ]
  { echo; pem CERTIFICATE; echo; echo; pem CERTIFICATE; echo; } >"$f"
  [ "$(pem_agrees x.crt "$f")" = match ]
  printf '%s' "$(pem 'RSA PUBLIC KEY')" >"$f" # no final newline
  [ "$(pem_agrees x.pub "$f")" = match ]
  for name in 'PRIVATE KEY' 'EC PRIVATE KEY' 'RSA PRIVATE KEY'; do
    pem "$name" >"$f"
    [ "$(pem_agrees x.key "$f")" = match ]
  done
  { printf -- '-----BEGIN CERTIFICATE-----\n%s==\n' "$(printf 'A%.0s' {1..76})"; echo '-----END CERTIFICATE-----'; } >"$f"
  [ "$(pem_agrees x.crt "$f")" = match ]
  # refused by both
  { printf -- '-----BEGIN CERTIFICATE-----\n%s\n' "$(printf 'A%.0s' {1..77})"; echo '-----END CERTIFICATE-----'; } >"$f"
  [ "$(pem_agrees x.crt "$f")" = refused ]
  printf -- '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n' >"$f"
  [ "$(pem_agrees x.pub "$f")" = refused ]
  printf -- '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n' >"$f"
  [ "$(pem_agrees x.crt "$f")" = refused ]
  printf -- '-----BEGIN CERTIFICATE-----\nAA=A\n-----END CERTIFICATE-----\n' >"$f"
  [ "$(pem_agrees x.crt "$f")" = refused ]
  { pem 'PRIVATE KEY'; pem 'PRIVATE KEY'; } >"$f"
  [ "$(pem_agrees x.key "$f")" = refused ]
  { pem CERTIFICATE; echo trailing; } >"$f"
  [ "$(pem_agrees x.crt "$f")" = refused ]
  { pem CERTIFICATE; pem 'EC PRIVATE KEY'; } >"$f"
  [ "$(pem_agrees x.crt "$f")" = refused ]
  { printf 'Proc-Type: 4,ENCRYPTED\n'; pem 'RSA PRIVATE KEY'; } >"$f"
  [ "$(pem_agrees x.key "$f")" = refused ]
}

@test "refused: a generated key without its certificate, a certificate without its key" {
  hostile_setup
  rm "$RECV/kube-scheduler.client.crt"
  assert_refused /opt/nstance-agent/keys/kube-scheduler.client.key "a key without its certificate kube-scheduler.client.crt"
  pem CERTIFICATE >"$RECV/kube-scheduler.client.crt"
  rm "$KEYS/netsy.server.key"
  assert_refused netsy.server.crt "delivered without its key"
}

@test "refused: a mutable.env that update-mutable-env.sh rejects; no certificate applied either" {
  hostile_setup
  printf 'this is not an env line\n' >"$RECV/mutable.env"
  assert_refused mutable.env "rejected by update-mutable-env.sh"
  [[ "$stderr" == *"rejected"*"mutable.env"* ]]
}

@test "every problem of a delivery is named, not only the first" {
  hostile_setup
  pem CERTIFICATE >"$RECV/evil.crt"
  echo nope >"$RECV/ca.crt"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"refused: evil.crt"* ]]
  [[ "$stderr" == *"refused: ca.crt: line 1"* ]]
}

@test "dot-files (the agent's files in flight) and the trigger are not part of the delivery" {
  hostile_setup
  echo partial >"$RECV/.kubelet.client.crt.tmp123"
  touch "$RECV/write-files.last"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  [ "$status" -eq 0 ]
  [[ " $(units_called restart) " == *" kubelet "* ]]
  cmp "$RECV/kubelet.server.crt" "$PODPLANE_ROOT/opt/crt/kubelet.server.crt"
}

@test "knd: knc-only names are skipped with a warning, the rest applies" {
  boot_fixture knd
  deliver_cert kubelet.client.crt
  deliver_cert kubelet.server.crt
  deliver_cert ca.crt
  deliver_cert netsy.server.crt
  pem 'PRIVATE KEY' >"$RECV/service-accounts.key"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"netsy.server.crt: skipped, delivered to knc nodes only (this is knd)"* ]]
  [[ "$stderr" == *"service-accounts.key: skipped"* ]]
  cmp "$RECV/kubelet.server.crt" "$PODPLANE_ROOT/opt/crt/kubelet.server.crt"
  [ ! -e "$PODPLANE_ROOT/opt/crt/netsy.server.crt" ]
  [ ! -e "$PODPLANE_ROOT/opt/key/kube-apiserver" ]
  # kubelet (its certificates, the CA) and zot (the CA it checks clients against)
  [ "$(units_called restart)" = "$(sorted kubelet zot)" ]
}

@test "a burst of three triggers gives one configure run" {
  boot_fixture knc
  deliver_knc
  touch "$RECV/write-files.last"
  PODPLANE_RECV_SETTLE=2 bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>"$BATS_TEST_TMPDIR/stderr" &
  local pid=$!
  # the agent delivers twice more while the first trigger settles
  sleep 0.3
  deliver_cert kubelet.server.crt
  touch "$RECV/write-files.last"
  sleep 0.3
  deliver_cert kubelet.client.crt
  touch "$RECV/write-files.last"
  wait "$pid"
  cat "$BATS_TEST_TMPDIR/stderr"
  [ "$(grep -c 'running configure.sh' "$BATS_TEST_TMPDIR/stderr")" -eq 1 ]
  [ ! -e "$RECV/write-files.last" ]
  cmp "$RECV/kubelet.client.crt" "$PODPLANE_ROOT/opt/crt/kubelet.client.crt"
  [ "$(invocations 'systemctl restart' | wc -l)" -eq 1 ]
}

@test "a delivery that arrives while configure runs gets its own round" {
  boot_fixture knc
  deliver_knc
  # systemctl, as configure's restart.sh first calls it, sees the agent deliver again
  mv "$BATS_TEST_TMPDIR/bin/systemctl" "$BATS_TEST_TMPDIR/bin/systemctl.real"
  cat >"$BATS_TEST_TMPDIR/bin/systemctl" <<STUB
#!/usr/bin/env bash
if [[ ! -e "$BATS_TEST_TMPDIR/redelivered" ]]; then
  touch "$BATS_TEST_TMPDIR/redelivered" "$RECV/write-files.last"
  head -c 300 /dev/urandom | base64 -w 64 | sed '1i -----BEGIN CERTIFICATE-----' | sed '\$a -----END CERTIFICATE-----' >"$RECV/kubelet.server.crt"
  head -c 300 /dev/urandom | base64 -w 64 | sed '1i -----BEGIN EC PRIVATE KEY-----' | sed '\$a -----END EC PRIVATE KEY-----' >"$KEYS/kubelet.server.key"
fi
exec "$BATS_TEST_TMPDIR/bin/systemctl.real" "\$@"
STUB
  chmod +x "$BATS_TEST_TMPDIR/bin/systemctl"
  run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'running configure.sh' <<<"$stderr")" -eq 2 ]
  [[ "$stderr" == *"another delivery arrived meanwhile"* ]]
  cmp "$RECV/kubelet.server.crt" "$PODPLANE_ROOT/opt/crt/kubelet.server.crt"
  [ ! -e "$RECV/write-files.last" ]
}

@test "restart.sh: a change of a services.tsv input restarts that service alone; an input that appears counts as a change" {
  boot_fixture knc
  mkdir -p "$PODPLANE_ROOT/opt/kube-scheduler/etc"
  echo "kind: KubeSchedulerConfiguration" >"$PODPLANE_ROOT/opt/kube-scheduler/etc/kube-scheduler.yaml"
  run --separate-stderr bash "$INSTALLED_BIN/restart.sh"
  [ "$status" -eq 0 ]
  [ "$(units_called restart)" = kube-scheduler ]
  grep -q ' /opt/kube-scheduler/etc/kube-scheduler.yaml$' "$PODPLANE_ROOT/opt/podplane/state/kube-scheduler.digest"
  grep -qx 'absent /opt/crt/ca.crt' "$PODPLANE_ROOT/opt/podplane/state/kube-scheduler.digest"
  clear_calls
  run --separate-stderr bash "$INSTALLED_BIN/restart.sh"
  [ -z "$(calls 'systemctl restart')" ]
  [[ "$stderr" == *"restarted: none"* ]]
  echo "kind: KubeSchedulerConfiguration # changed" >"$PODPLANE_ROOT/opt/kube-scheduler/etc/kube-scheduler.yaml"
  run --separate-stderr bash "$INSTALLED_BIN/restart.sh"
  [ "$(units_called restart)" = kube-scheduler ]
}

@test "restart.sh: one sha256sum call, each shared file hashed once" {
  boot_fixture knc
  deliver_knc
  bash "$INSTALLED_BIN/nstance-recv-watch.sh" 2>/dev/null
  mkdir -p "$BATS_TEST_TMPDIR/sha"
  printf '#!/usr/bin/env bash\necho "$*" >>"%s/sha/args"\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$(command -v sha256sum)" >"$BATS_TEST_TMPDIR/sha/sha256sum"
  chmod +x "$BATS_TEST_TMPDIR/sha/sha256sum"
  PATH="$BATS_TEST_TMPDIR/sha:$PATH" run --separate-stderr bash "$INSTALLED_BIN/restart.sh"
  [ "$status" -eq 0 ]
  [ "$(wc -l <"$BATS_TEST_TMPDIR/sha/args")" -eq 1 ]
  [ "$(tr ' ' '\n' <"$BATS_TEST_TMPDIR/sha/args" | grep -c '/opt/crt/ca.crt$')" -eq 1 ]
}

@test "bad usage: PODPLANE_RECV_SETTLE not a number" {
  boot_fixture knc
  PODPLANE_RECV_SETTLE=soon run --separate-stderr bash "$INSTALLED_BIN/nstance-recv-watch.sh"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"PODPLANE_RECV_SETTLE='soon'"* ]]
}
