#!/usr/bin/env bash
# Every boot and every update: merges user-data.env (immutable) + detected.env + mutable.env
# (which overrides user-data for the 36 mutable variables) into /opt/env/<service>.env for each
# service of the image's kind that applies, with only the variables that service uses
# (services.tsv), then runs restart.sh. Same inputs: no file changes, no restarts.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

declare -A ENV=()

# merge FILE ALLOWED_SOURCES: adds FILE's variables to ENV; a name from another source is an error.
merge() {
  local file=$1 allowed=$2 name
  local -A from=()
  read_env_file "$file" from
  for name in "${!from[@]}"; do
    [[ -n "${ALL_SOURCE[$name]+set}" ]] || die "$file: unknown variable $name"
    [[ " $allowed " == *" ${ALL_SOURCE[$name]} "* ]] || die "$file: $name cannot be set here (it is a ${ALL_SOURCE[$name]} variable)"
    ENV[$name]=${from[$name]}
  done
}

validate() {
  local kind=$1 name
  for name in "${!ENV[@]}"; do
    check_value "${ALL_TYPE[$name]}" "${ENV[$name]}" || die "$name: $CHECK_REASON"
  done
  for name in "${!ALL_REQUIRED[@]}"; do
    [[ "${ALL_REQUIRED[$name]}" != yes || -n "${ENV[$name]:-}" ]] || die "$name is required but empty or missing"
  done
  [[ "${ENV[PODPLANE_KIND]}" == "$kind" ]] || die "PODPLANE_KIND: user-data is for ${ENV[PODPLANE_KIND]}, this image is $kind"
}

# applies WHEN: "always", or NAME=value compared with the merged environment.
applies() {
  [[ "$1" == always ]] && return 0
  [[ "${ENV[${1%%=*}]:-}" == "${1#*=}" ]]
}

# Each service's env file is staged when its text changed; commit_staged moves them all at once.
write_service_envs() {
  local svc name text quoted
  local -a names wrote=()
  for svc in "${SERVICES[@]}"; do
    if ! applies "${SERVICE_WHEN[$svc]}"; then
      [[ ! -f "$SERVICE_ENV_DIR/$svc.env" ]] || {
        rm -f "$SERVICE_ENV_DIR/$svc.env"
        log "$svc no longer applies (${SERVICE_WHEN[$svc]}): env file removed"
      }
      continue
    fi
    IFS=, read -r -a names <<<"${SERVICE_VARS[$svc]}"
    text=""
    for name in "${names[@]}"; do
      quote_double quoted "${ENV[$name]:-}"
      text+="$name=$quoted"$'\n'
    done
    stage_file "$SERVICE_ENV_DIR/$svc.env" 0600 "$text"
    ((WRITE_CHANGED == 0)) || wrote+=("$svc")
  done
  ((${#wrote[@]} == 0)) || log "wrote $SERVICE_ENV_DIR/{${wrote[*]}}.env"
}

# SSH_AUTHORIZED_KEY → the file sshd reads for root (etc/ssh/sshd_config.d/podplane.conf).
write_ssh_key() {
  local file="$PP_ETC/ssh/authorized_keys.root"
  if [[ -n "${ENV[SSH_AUTHORIZED_KEY]:-}" ]]; then
    [[ -d "${file%/*}" ]] || mkdir -p "${file%/*}"
    stage_file "$file" 0644 "${ENV[SSH_AUTHORIZED_KEY]}"$'\n'
  elif [[ -e "$file" ]]; then
    rm -f "$file"
  fi
}

main() {
  [[ -f "$USER_DATA_ENV" ]] || die "$USER_DATA_ENV is missing: the cloud-init user-data has not run, nothing to configure"
  load_image_kind
  take_lock
  load_variables
  load_services "$IMAGE_KIND"
  [[ -f "$DETECTED_ENV" && -f "$MUTABLE_ENV" ]] || "$VMCONFIG_HOME/bin/bootstrap.sh"
  merge "$USER_DATA_ENV" "user-data settable derived"
  merge "$DETECTED_ENV" "detected"
  merge "$MUTABLE_ENV" "settable derived"
  validate "$IMAGE_KIND"
  [[ -d "$SERVICE_ENV_DIR" ]] || install -d -m 0700 "$SERVICE_ENV_DIR"
  write_service_envs
  write_ssh_key
  ((STAGED_COUNT == 0)) || commit_staged
  "$VMCONFIG_HOME/bin/restart.sh"
}

main "$@"
