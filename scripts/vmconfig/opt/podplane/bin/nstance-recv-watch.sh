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
  local kind=$1 dir svc f rel
  [[ -d "$RECV_DIR/config" ]] || return 0
  for dir in "$RECV_DIR"/config/*/; do
    [[ -d "$dir" ]] || continue
    svc=${dir%/}
    svc=${svc##*/}
    if ! services_for_kind "$kind" | cut -f 1 | grep -qx -- "$svc"; then
      warn "ignoring delivered config for $svc: not a $kind service"
      continue
    fi
    while IFS= read -r f; do
      rel=${f#"$dir"}
      install -d -m 0700 "$CONFIG_DIR/$svc" "$(dirname "$CONFIG_DIR/$svc/$rel")"
      write_if_changed "$CONFIG_DIR/$svc/$rel" 0600 <"$f"
      ((WRITE_CHANGED == 0)) || log "updated $CONFIG_DIR/$svc/$rel"
    done < <(find "$dir" -type f | LC_ALL=C sort)
  done
}

main() {
  local kind
  kind=$(image_kind)
  "$VMCONFIG_HOME/bin/update-mutable-env.sh" || die "the delivered mutable.env was rejected: nothing of this delivery was applied"
  copy_delivered_configs "$kind"
  "$VMCONFIG_HOME/bin/configure.sh"
}

main "$@"
