#!/usr/bin/env bash
# Common setup for the vmconfig bats suites: a temporary PODPLANE_ROOT, stubs on PATH
# (systemctl, dpkg, logger, hostname, ip, useradd, cloud-init, chown) and helpers to install a
# kind and write user-data.env in Podplane's format.

# shellcheck source=SCRIPTDIR/stubs.bash
source "${BATS_TEST_DIRNAME}/helpers/stubs.bash"

# Used by the .bats files that load this helper.
VMCONFIG_TREE="$(cd "${BATS_TEST_DIRNAME}/../../scripts/vmconfig" && pwd)"
export VMCONFIG_TREE BIN="$VMCONFIG_TREE/opt/podplane/bin"
export KNC_SERVICES="nstance-agent fluent-bit containerd kubelet netsy kube-apiserver kube-scheduler kube-controller-manager"
export KND_SERVICES="nstance-agent fluent-bit containerd kubelet"

vmconfig_setup() {
  export PODPLANE_ROOT="$BATS_TEST_TMPDIR/root"
  export STUB_LOG="$BATS_TEST_TMPDIR/calls.log"
  export STUB_STATE="$BATS_TEST_TMPDIR/stub-state"
  mkdir -p "$PODPLANE_ROOT"
  : >"$STUB_LOG"
  : >"$STUB_LOG.calls"
  make_stubs "$BATS_TEST_TMPDIR/bin"
  printf '#!/usr/bin/env bash\necho node-1\n' >"$BATS_TEST_TMPDIR/bin/hostname"
  cat >"$BATS_TEST_TMPDIR/bin/ip" <<'STUB'
#!/usr/bin/env bash
case "$*" in
  "-o addr show")
    echo "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever"
    # No address yet (DHCP has not answered): only the loopback.
    [[ ! -f "$STUB_STATE/no-address" ]] || exit 0
    echo "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\\       valid_lft 86313sec preferred_lft 86313sec"
    echo "2: eth0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic mngtmpaddr \\       valid_lft 86313sec preferred_lft 14313sec"
    echo "2: eth0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever preferred_lft forever"
    ;;
  *) exit 2 ;;
esac
STUB
  # useradd adds the user to $PODPLANE_ROOT/etc/passwd; cloud-init is absent unless a test
  # writes $STUB_STATE/cloud-init-query (the answer to `cloud-init query`).
  cat >"$BATS_TEST_TMPDIR/bin/useradd" <<'STUB'
#!/usr/bin/env bash
echo "useradd $*" >>"$STUB_LOG"
mkdir -p "$PODPLANE_ROOT/etc" "$PODPLANE_ROOT/home/${*: -1}"
echo "${*: -1}:x:1000:1000::/home/${*: -1}:/bin/bash" >>"$PODPLANE_ROOT/etc/passwd"
STUB
  cat >"$BATS_TEST_TMPDIR/bin/cloud-init" <<'STUB'
#!/usr/bin/env bash
echo "cloud-init $*" >>"$STUB_LOG"
[[ -f "$STUB_STATE/cloud-init-query" ]] || exit 1
cat "$STUB_STATE/cloud-init-query"
STUB
  cat >"$BATS_TEST_TMPDIR/bin/chown" <<'STUB'
#!/usr/bin/env bash
echo "chown $*" >>"$STUB_LOG"
STUB
  chmod +x "$BATS_TEST_TMPDIR/bin/hostname" "$BATS_TEST_TMPDIR/bin/ip" "$BATS_TEST_TMPDIR/bin/useradd" "$BATS_TEST_TMPDIR/bin/cloud-init" "$BATS_TEST_TMPDIR/bin/chown"
  export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

# install_kind KIND: runs install.sh with an empty stage (the vmconfig tree and units).
install_kind() {
  local stage="$BATS_TEST_TMPDIR/empty-stage"
  mkdir -p "$stage"
  : >"$stage/artifacts.tsv"
  bash "$BIN/install.sh" "$1" "$stage" 2>/dev/null
  clear_calls
}

# The throwaway CAs in helpers/fixtures and two SSH keys (the second with a quote in its comment).
FIXTURES="${BATS_TEST_DIRNAME}/helpers/fixtures"
export NSTANCE_CA_PEM="$FIXTURES/nstance-ca.crt" OIDC_CA_PEM="$FIXTURES/oidc-ca.crt"
export SSH_KEY_1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyOne alice@example"
export SSH_KEY_2="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyTwo bob's laptop"

# podplane_quote VALUE: VALUE quoted as Podplane's quoteEnv does ('...' with '\'' for a quote).
podplane_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# write_user_data [NAME=value ...]: user-data.env exactly as Podplane's user-data writes it
# (its 12 names in its order, blank lines between the groups, a multi-line PEM CA and two SSH
# keys), with NAME=value replacing a default or appended at the end; plus the identity files
# the user-data writes (nonce.jwt, ca.crt). PROVIDER_KIND is local unless given.
write_user_data() {
  local kv name etc="$PODPLANE_ROOT/opt/podplane/etc" id="$PODPLANE_ROOT/opt/nstance-agent/identity"
  local -A v=(
    [IMMUTABLE_SSH_AUTHORIZED_KEYS]="$SSH_KEY_1"$'\n'"$SSH_KEY_2"
    [INSTANCE_ID]=i-0123 [CLUSTER_ID]=c-test [PROVIDER_KIND]=local [PROVIDER_REGION]=region-1
    [PROVIDER_ZONE]=zone-1a [PROVIDER_INSTANCE_TYPE]=t3.medium [AWS_ACCOUNT_ID]="" [GOOGLE_PROJECT_ID]=""
    [NSTANCE_CA_CERT]="$(cat "$NSTANCE_CA_PEM")"
    [NSTANCE_SERVER_REGISTRATION_ADDR]=10.0.2.2:8990 [NSTANCE_SERVER_AGENT_ADDR]=10.0.2.2:8991
  )
  local -a order=(IMMUTABLE_SSH_AUTHORIZED_KEYS "" INSTANCE_ID CLUSTER_ID "" PROVIDER_KIND PROVIDER_REGION PROVIDER_ZONE
    PROVIDER_INSTANCE_TYPE AWS_ACCOUNT_ID GOOGLE_PROJECT_ID "" NSTANCE_CA_CERT NSTANCE_SERVER_REGISTRATION_ADDR NSTANCE_SERVER_AGENT_ADDR)
  local -a extra=()
  for kv in "$@"; do
    name=${kv%%=*}
    [[ -n "${v[$name]+set}" ]] || extra+=("$name")
    v[$name]=${kv#*=}
  done
  mkdir -p "$etc" "$id"
  {
    for name in "${order[@]}" "${extra[@]}"; do
      if [[ -z "$name" ]]; then echo; else printf '%s=%s\n' "$name" "$(podplane_quote "${v[$name]}")"; fi
    done
  } >"$etc/user-data.env"
  chmod 0600 "$etc/user-data.env"
  printf 'eyJhbGciOiJFUzI1NiJ9.fixture.nonce\n' >"$id/nonce.jwt"
  cp "$NSTANCE_CA_PEM" "$id/ca.crt"
}

# boot KIND [NAME=value ...]: install, user-data, first configure run; then a clean call log.
boot() {
  install_kind "$1"
  write_user_data "${@:2}"
  bash "$BIN/configure.sh" 2>/dev/null
  clear_calls
}

# snapshot: a listing (path, mode, size, mtime, content digest) of every file under
# PODPLANE_ROOT but the lock file, to prove that a refused input changed nothing.
snapshot() {
  (
    cd "$PODPLANE_ROOT" || exit 1
    find . \( -path ./proc -o -name vmconfig.lock \) -prune -o -type f -printf '%p %m %s %T@\n' | LC_ALL=C sort
    find . \( -path ./proc -o -name vmconfig.lock \) -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort
  )
}

clear_calls() { : >"$STUB_LOG" && : >"$STUB_LOG.calls"; }

# The services systemctl was asked to $1 (start, restart, stop, ...), sorted, space-separated.
units_called() {
  calls "systemctl $1" | cut -d ' ' -f 3- | tr ' ' '\n' | grep -v '^-' | sed 's/\.service$//' | sort | tr '\n' ' ' | sed 's/ $//'
}

sorted() { tr ' ' '\n' <<<"$*" | sort | tr '\n' ' ' | sed 's/ $//'; }

# runs KIND [NAME=value ...]: the services configure.sh starts on a KIND VM whose user-data sets
# NAME=value (PROVIDER_KIND is local unless given, as write_user_data writes it; the rest from
# variables.tsv's defaults, Podplane's own: TELEMETRY_ENABLED=false, REGISTRY_ENABLED=true): the
# services.tsv rows of KIND whose "when" column holds, sorted, space-separated.
runs() {
  local kind=$1 kv name def svc kinds when list=""
  local -A val=()
  while IFS=$'\t' read -r name _ _ _ def _; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ "$def" != - ]] || def=""
    val[$name]=$def
  done <"$VMCONFIG_TREE/opt/podplane/share/variables.tsv"
  val[PROVIDER_KIND]=local
  for kv in "${@:2}"; do val[${kv%%=*}]=${kv#*=}; done
  while IFS=$'\t' read -r svc kinds when _; do
    [[ -z "$svc" || "$svc" == \#* || ",$kinds," != *",$kind,"* ]] && continue
    [[ "$when" == always || "${val[${when%%=*}]:-}" == "${when#*=}" ]] || continue
    list+=" $svc"
  done <"$VMCONFIG_TREE/opt/podplane/share/services.tsv"
  sorted "${list# }"
}

env_file() { printf '%s' "$PODPLANE_ROOT/opt/env/$1.env"; }

# not CMD...: fails when CMD succeeds (a bare `! cmd` does not fail a bats test).
not() {
  if "$@"; then
    echo "expected to fail: $*" >&2
    return 1
  fi
}

# exec_counting_path: a directory to use as the whole PATH in which every command a vmconfig
# boot script may run is a shim that appends its name to $EXEC_LOG and runs the real program
# (the stubs with the normal PATH, so their own internals are not counted). A command missing
# from the list is "command not found" and fails the script: a new external command on the
# boot path has to be added here on purpose. Sets COUNTED_PATH to the directory.
readonly COUNTED_COMMANDS="bash flock sha256sum mv rm mkdir install ip chmod sleep base64"
readonly COUNTED_STUBS="systemctl logger hostname useradd cloud-init chown"
exec_counting_path() {
  local dir="$BATS_TEST_TMPDIR/counted" name real
  export EXEC_LOG="$BATS_TEST_TMPDIR/exec.log" REAL_PATH="$PATH"
  mkdir -p "$dir"
  : >"$EXEC_LOG"
  # The shims' $EXEC_LOG, $REAL_PATH and "$@" expand when they run, not here.
  # shellcheck disable=SC2016
  for name in $COUNTED_COMMANDS; do
    real=$(PATH="${PATH#"$BATS_TEST_TMPDIR/bin:"}" command -v "$name")
    printf '#!%s\nprintf "%%s\\n" %s >>"$EXEC_LOG"\nexec %s "$@"\n' "$BASH" "$name" "$real" >"$dir/$name"
  done
  # shellcheck disable=SC2016
  for name in $COUNTED_STUBS; do
    printf '#!%s\nprintf "%%s\\n" %s >>"$EXEC_LOG"\nPATH=$REAL_PATH exec %s %s "$@"\n' "$BASH" "$name" "$BASH" "$BATS_TEST_TMPDIR/bin/$name" >"$dir/$name"
  done
  chmod +x "$dir"/*
  export COUNTED_PATH=$dir
}
