#!/usr/bin/env bash
# Every boot and every update. Merges defaults < user-data.env < detected.env < mutable.env
# (an empty value means "the default", as Podplane sends '' for unset keys) into ENV, checks
# it, then writes, each only when its content changed: the Nstance agent's CA
# (/opt/nstance-agent/identity/ca.crt), admin's SSH authorized_keys, the OIDC CA, one env
# file per service that applies (/opt/env/<service>.env, the variables services.tsv lists),
# and what each service's config writer (services/<svc>/configure.sh) stages. Then restart.sh.
# Same inputs: no file changes, no restarts. Logs one line of per-phase timings.
# When nothing changed since the last clean run and its services still run (lib/noop.sh's
# stamp), it exits before loading a table or calling systemctl.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/noop.sh
source "${BASH_SOURCE[0]%/*}/../lib/noop.sh"
trap 'err_report $LINENO' ERR

# The merged environment the env files and config writers read (see docs/vmconfig.md).
declare -gA ENV=()
readonly CRT_DIR="$PODPLANE_ROOT/opt/crt"
readonly OIDC_CA_VM_PATH=/opt/crt/oidc-ca.pem
readonly ADMIN_HOME="$PODPLANE_ROOT/home/admin"
readonly SUDOERS_ADMIN="$PODPLANE_ROOT/etc/sudoers.d/admin"
readonly OLD_ROOT_KEYS="$PP_ETC/ssh/authorized_keys.root"
readonly AGENT_OWNER=nstance-agent:nstance-agent

# Phase timings: microseconds from $EPOCHREALTIME (no fork), whatever the locale's decimal mark.
declare -a PHASES=()
PHASE_START=0
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME//[!0-9]/}"; }
phase_done() {
  local now
  now_us now
  PHASES+=("$1=$(((now - PHASE_START) / 1000))ms")
  PHASE_START=$now
}

# merge FILE ALLOWED_SOURCES: adds FILE's variables to ENV (already parsed into ARRAY); a name
# from another source is an error. An empty value keeps the default.
merge() {
  local file=$1 allowed=$2 name
  local -n _from=$3
  for name in "${!_from[@]}"; do
    [[ -n "${ALL_SOURCE[$name]+set}" ]] || die "$file: unknown variable $name"
    [[ " $allowed " == *" ${ALL_SOURCE[$name]} "* ]] || die "$file: $name cannot be set here (it is a ${ALL_SOURCE[$name]} variable)"
    [[ -z "${_from[$name]}" && -n "${ALL_DEFAULT[$name]}" ]] || ENV[$name]=${_from[$name]}
  done
}

# The three files' arrays are filled and read by name (read_env_file, merge).
# shellcheck disable=SC2034
load_env() {
  local name
  local -A user_data=() detected=() mutable=()
  for name in "${!ALL_DEFAULT[@]}"; do
    ENV[$name]=${ALL_DEFAULT[$name]}
  done
  read_user_data user_data
  read_env_file "$DETECTED_ENV" detected
  read_env_file "$MUTABLE_ENV" mutable
  merge "$USER_DATA_ENV" "user-data mutable detected" user_data
  merge "$DETECTED_ENV" "detected" detected
  merge "$MUTABLE_ENV" "mutable" mutable
}

validate() {
  local name
  check_env "the merged environment" ENV
  for name in "${!ALL_REQUIRED[@]}"; do
    [[ "${ALL_REQUIRED[$name]}" != yes || -n "${ENV[$name]:-}" ]] || die "$name is required but empty or missing"
  done
  check_provider ENV "the merged environment"
  [[ "${ENV[VMCONFIG_KIND]}" == "$IMAGE_KIND" ]] || die "VMCONFIG_KIND: detected.env is for ${ENV[VMCONFIG_KIND]}, this image is $IMAGE_KIND"
}

# pem_from VALUE VAR: VALUE as PEM text (ending in a newline) in VAR: as is when it is PEM,
# else base64-decoded (one fork, only then). Returns 1 when the result is no PEM certificate.
pem_from() {
  local -n _pem=$2
  if [[ "$1" == -----BEGIN* ]]; then
    _pem=$1
  else
    _pem=$(base64 -d <<<"$1" 2>/dev/null) || return 1
  fi
  [[ "$_pem" == "-----BEGIN CERTIFICATE-----"*"-----END CERTIFICATE-----"* ]] || return 1
  _pem=${_pem%$'\n'}$'\n'
}

# cached_pem NAME VALUE VAR: pem_from with the decoded result remembered under
# /opt/podplane/state (so an unchanged base64 value costs no fork on later runs).
cached_pem() {
  local name=$1 value=$2 src dest
  local -n _out=$3
  [[ "$value" != -----BEGIN* ]] || {
    pem_from "$value" _out
    return
  }
  read_file "$PP_STATE/$name.b64" src
  read_file "$PP_STATE/$name.pem" dest
  if [[ -n "$dest" && "$src" == "$value" ]]; then
    _out=$dest
    return 0
  fi
  pem_from "$value" _out || return 1
  stage_file "$PP_STATE/$name.b64" 0600 "$value"
  stage_file "$PP_STATE/$name.pem" 0600 "$_out"
}

# The Nstance agent's identity: ca.crt from NSTANCE_CA_CERT (PEM or base64), nonce.jwt and
# ca.crt 0600 nstance-agent; the agent cannot register without a nonce or an identity.
IDENTITY_FIX=()
write_identity() {
  local pem marker="$PP_STATE/identity.fixed" f
  [[ -d "$IDENTITY_DIR" ]] || install -d -m 0700 "$IDENTITY_DIR"
  if [[ -n "${ENV[NSTANCE_CA_CERT]:-}" ]]; then
    cached_pem nstance-ca "${ENV[NSTANCE_CA_CERT]}" pem || die "NSTANCE_CA_CERT: not a PEM certificate, neither as given nor base64-decoded"
    stage_file "$IDENTITY_DIR/ca.crt" 0600 "$pem" "$AGENT_OWNER"
  elif [[ ! -f "$IDENTITY_DIR/ca.crt" ]]; then
    die "the Nstance CA is missing: NSTANCE_CA_CERT is empty and $IDENTITY_DIR/ca.crt does not exist"
  fi
  [[ -f "$IDENTITY_DIR/nonce.jwt" || -f "$IDENTITY_DIR/identity.crt" ]] ||
    die "$IDENTITY_DIR has neither nonce.jwt (before registration) nor identity.crt (after): nstance-agent cannot register"
  # Files the user-data wrote as root: fixed once after each change (mtime newer than the
  # marker), so that an unchanged run costs no chmod/chown.
  for f in nonce.jwt ca.crt; do
    [[ -f "$IDENTITY_DIR/$f" ]] || continue
    [[ -f "$marker" && ! "$IDENTITY_DIR/$f" -nt "$marker" ]] || IDENTITY_FIX+=("$IDENTITY_DIR/$f")
  done
}

# After commit_staged: the identity files user-data wrote get their mode and owner.
fix_identity() {
  ((${#IDENTITY_FIX[@]} > 0)) || return 0
  chmod 0600 -- "${IDENTITY_FIX[@]}"
  [[ -n "$PODPLANE_ROOT" ]] || chown -- "$AGENT_OWNER" "${IDENTITY_FIX[@]}"
  [[ -d "$PP_STATE" ]] || mkdir -p "$PP_STATE"
  : >"$PP_STATE/identity.fixed"
}

# has_user NAME: NAME in /etc/passwd (builtin read, no getent fork).
has_user() {
  local name _
  [[ -r "$PODPLANE_ROOT/etc/passwd" ]] || return 1
  while IFS=: read -r name _; do
    [[ "$name" != "$1" ]] || return 0
  done <"$PODPLANE_ROOT/etc/passwd"
  return 1
}

# admin's authorized_keys: IMMUTABLE_SSH_AUTHORIZED_KEYS + SSH_AUTHORIZED_KEYS +
# SSH_AUTHORIZED_KEY, one key a line, first occurrence kept; the admin user (sudo without
# password) is created when keys are given; the file is removed when none are.
write_ssh_keys() {
  local line text="" file="$ADMIN_HOME/.ssh/authorized_keys"
  local -A seen=()
  local -a lines
  mapfile -t lines <<<"${ENV[IMMUTABLE_SSH_AUTHORIZED_KEYS]:-}"$'\n'"${ENV[SSH_AUTHORIZED_KEYS]:-}"$'\n'"${ENV[SSH_AUTHORIZED_KEY]:-}"
  for line in "${lines[@]}"; do
    [[ "$line" == *[![:space:]]* && -z "${seen[$line]:-}" ]] || continue
    seen[$line]=1
    text+=$line$'\n'
  done
  [[ ! -e "$OLD_ROOT_KEYS" ]] || rm -f -- "$OLD_ROOT_KEYS"
  if [[ -z "$text" ]]; then
    [[ ! -e "$file" ]] || {
      rm -f -- "$file"
      log "no SSH keys: removed $file"
    }
    return 0
  fi
  if ! has_user admin; then
    useradd --create-home --user-group --shell /bin/bash admin || die "cannot create the admin user"
    log "created the admin user"
  fi
  if [[ ! -d "$ADMIN_HOME/.ssh" ]]; then
    install -d -m 0700 "$ADMIN_HOME/.ssh"
    [[ -n "$PODPLANE_ROOT" ]] || chown admin:admin "$ADMIN_HOME/.ssh"
  fi
  [[ -d "${SUDOERS_ADMIN%/*}" ]] || install -d -m 0750 "${SUDOERS_ADMIN%/*}"
  stage_file "$SUDOERS_ADMIN" 0440 $'admin ALL=(ALL) NOPASSWD:ALL\n' root:root
  stage_file "$file" 0600 "$text" admin:admin
}

# OIDC_CA_CERT (base64 PEM) -> /opt/crt/oidc-ca.pem 0640 root:podplane; OIDC_CA_FILE_EFFECTIVE
# names the CA file kube-apiserver uses: that file, else the seed's OIDC_CA_FILE when
# OIDC_CUSTOM_CA=true, else empty.
write_oidc_ca() {
  local pem file="$CRT_DIR/oidc-ca.pem"
  ENV[OIDC_CA_FILE_EFFECTIVE]=""
  if [[ -n "${ENV[OIDC_CA_CERT]:-}" ]]; then
    cached_pem oidc-ca "${ENV[OIDC_CA_CERT]}" pem || die "OIDC_CA_CERT: not a base64-encoded PEM certificate"
    [[ -d "$CRT_DIR" ]] || install -d -m 0750 "$CRT_DIR"
    stage_file "$file" 0640 "$pem" root:podplane
    ENV[OIDC_CA_FILE_EFFECTIVE]=$OIDC_CA_VM_PATH
  else
    [[ ! -e "$file" ]] || rm -f -- "$file"
    if [[ "${ENV[OIDC_CUSTOM_CA]}" == true ]]; then
      [[ -n "${ENV[OIDC_CA_FILE]:-}" ]] || die "OIDC_CUSTOM_CA is true but OIDC_CA_FILE is empty"
      ENV[OIDC_CA_FILE_EFFECTIVE]=${ENV[OIDC_CA_FILE]}
    fi
  fi
}

# applies WHEN: "always", or NAME=value compared with the merged environment.
applies() {
  [[ "$1" == always ]] && return 0
  [[ "${ENV[${1%%=*}]:-}" == "${1#*=}" ]]
}

# Each applying service's env file (stage_service_env) is staged when its text changed; one that
# no longer applies loses its env file.
APPLYING=()
write_service_envs() {
  local svc
  local -a wrote=()
  for svc in "${SERVICES[@]}"; do
    if ! applies "${SERVICE_WHEN[$svc]}"; then
      [[ ! -f "$SERVICE_ENV_DIR/$svc.env" ]] || {
        rm -f -- "$SERVICE_ENV_DIR/$svc.env"
        log "$svc no longer applies (${SERVICE_WHEN[$svc]}): env file removed"
      }
      continue
    fi
    APPLYING+=("$svc")
    stage_service_env "$svc"
    ((WRITE_CHANGED == 0)) || wrote+=("$svc")
  done
  ((${#wrote[@]} == 0)) || log "wrote $SERVICE_ENV_DIR/{${wrote[*]}}.env"
}

# Each applying service's config writer: services/<svc>/configure.sh defines
# configure_<svc with - as _>, which reads ENV and writes only through stage_file.
run_config_writers() {
  local svc file
  for svc in "${APPLYING[@]}"; do
    file="$VMCONFIG_HOME/services/$svc/configure.sh"
    [[ -f "$file" ]] || continue
    # shellcheck source=/dev/null
    source "$file"
    "configure_${svc//-/_}" || die "the config writer of $svc failed ($file)"
  done
}

# The timings line goes to stderr (the journal when run by systemd) and, when stderr is not
# the journal (cloud-init's user-data), also to the journal through logger.
report_timings() {
  local line="timings: ${PHASES[*]}"
  log "$line"
  [[ -n "${JOURNAL_STREAM:-}" ]] || ! command -v logger >/dev/null 2>&1 || logger -t "$LOG_TAG" -- "$line" 2>/dev/null || true
}

# The stamp's lines for what configure.sh itself reads and writes (restart.sh adds the
# services' inputs): the three env files, the bootstrap marker, the identity files, admin's
# keys, the OIDC CA and the vmconfig tree's scripts and tables.
configure_watch_lines() {
  local -n _out=$1
  local -a paths=("$USER_DATA_ENV" "$DETECTED_ENV" "$MUTABLE_ENV" "$BOOTSTRAP_DONE" "$PP_KIND_FILE"
    "$IDENTITY_DIR"/{ca.crt,nonce.jwt,identity.crt} "$ADMIN_HOME/.ssh/authorized_keys" "$SUDOERS_ADMIN" "$CRT_DIR/oidc-ca.pem")
  local f
  shopt -s nullglob
  for f in "$VMCONFIG_HOME"/{bin,lib}/*.sh "$VMCONFIG_HOME"/share/*.tsv "$VMCONFIG_HOME"/services/*/configure.sh; do
    # Always under PODPLANE_ROOT on a VM; a test running the repo's copy leaves it out.
    [[ -z "$PODPLANE_ROOT" || "$f" == "$PODPLANE_ROOT"/* ]] || continue
    paths+=("$f")
  done
  shopt -u nullglob
  noop_watch _out "${paths[@]#"$PODPLANE_ROOT"}"
}

main() {
  local rc=0 stamp_text="" units
  now_us PHASE_START
  [[ -f "$USER_DATA_ENV" ]] || die "$USER_DATA_ENV is missing: the cloud-init user-data has not run, nothing to configure"
  take_lock
  if noop_unchanged; then
    phase_done check
    units=${NOOP_UNITS[*]}
    log "no-op: started: none; restarted: none; stopped: none; unchanged: ${units:-none} (nothing changed since $NOOP_STAMP)"
    report_timings
    return 0
  fi
  load_image_kind
  load_variables
  load_services "$IMAGE_KIND"
  if [[ ! -f "$BOOTSTRAP_DONE" ]]; then
    "$VMCONFIG_HOME/bin/bootstrap.sh"
  elif [[ ! -s "$DETECTED_ENV" || ! -s "$MUTABLE_ENV" ]]; then
    die "$BOOTSTRAP_DONE exists but detected.env or mutable.env is missing or empty (remove the marker to detect again)"
  fi
  phase_done bootstrap
  load_env
  validate
  write_identity
  write_ssh_keys
  write_oidc_ca
  phase_done identity
  write_service_envs
  phase_done env
  run_config_writers
  phase_done writers
  ((STAGED_COUNT == 0)) || commit_staged
  fix_identity
  phase_done commit
  PODPLANE_NOOP_OUT="$PP_STATE/noop.restart" "$VMCONFIG_HOME/bin/restart.sh" || rc=$?
  phase_done starts
  if ((rc == 0)); then
    read_file "$PP_STATE/noop.restart" stamp_text
    configure_watch_lines stamp_text
    noop_record "$stamp_text"
  else
    noop_forget
  fi
  report_timings
  return "$rc"
}

main "$@"
