#!/usr/bin/env bash
# Run by nstance-recv-watch.service when the Nstance agent touches
# /opt/nstance-agent/recv/write-files.last: merges the delivered mutable.env
# (update-mutable-env.sh), copies delivered files from recv/config/<service>/ to
# /opt/podplane/etc/config/<service>/ (0700 dirs, 0600 files), then runs configure.sh, whose
# restart.sh restarts only the services whose env file or config changed.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

copy_delivered_configs() {
  local dir svc f rel f_dir
  [[ -d "$RECV_DIR/config" ]] || return 0
  for dir in "$RECV_DIR"/config/*/; do
    [[ -d "$dir" ]] || continue
    svc=${dir%/}
    svc=${svc##*/}
    if [[ -L "${dir%/}" ]]; then
      warn "ignoring delivered config for $svc: a symbolic link"
      continue
    fi
    if [[ -z "${SERVICE_VARS[$svc]+set}" ]]; then
      warn "ignoring delivered config for $svc: not a $IMAGE_KIND service"
      continue
    fi
    while IFS= read -r f; do
      rel=${f#"$dir"}
      f_dir="$CONFIG_DIR/$svc/$rel"
      install -d -m 0700 "$CONFIG_DIR/$svc" "${f_dir%/*}"
      write_if_changed "$CONFIG_DIR/$svc/$rel" 0600 <"$f"
      ((WRITE_CHANGED == 0)) || log "updated $CONFIG_DIR/$svc/$rel"
    done < <(find "$dir" -type f | LC_ALL=C sort)
  done
}

main() {
  load_image_kind
  load_services "$IMAGE_KIND"
  "$VMCONFIG_HOME/bin/update-mutable-env.sh" || die "the delivered mutable.env was rejected: nothing of this delivery was applied"
  copy_delivered_configs
  "$VMCONFIG_HOME/bin/configure.sh"
}

main "$@"
