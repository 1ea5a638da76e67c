#!/usr/bin/env bash
# Brings the kind's services in line with /opt/env: starts a service that is not running,
# restarts one whose env file or delivered config (/opt/podplane/etc/config/<service>/)
# changed since its last start (digests under /opt/podplane/state), leaves the rest alone, and
# stops (and, for conditional services, disables) a service whose env file configure.sh removed.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
trap 'err_report $LINENO' ERR

service_digest() {
  local svc=$1 f
  {
    cat "$SERVICE_ENV_DIR/$svc.env"
    if [[ -d "$CONFIG_DIR/$svc" ]]; then
      while IFS= read -r f; do
        printf '\n--- %s\n' "${f#"$CONFIG_DIR/"}"
        cat "$f"
      done < <(find "$CONFIG_DIR/$svc" -type f | LC_ALL=C sort)
    fi
  } | sha256sum | cut -d ' ' -f 1
}

main() {
  local kind svc when _vars unit digest state failed=0
  local -a started=() restarted=() stopped=() unchanged=()
  kind=$(image_kind)
  mkdir -p "$PP_STATE"
  while IFS=$'\t' read -r svc when _vars; do
    unit=$svc.service
    state=$PP_STATE/$svc.digest
    if [[ ! -f "$SERVICE_ENV_DIR/$svc.env" ]]; then
      if systemctl is-active --quiet "$unit"; then
        systemctl stop "$unit" && stopped+=("$svc") || failed=1
      fi
      if [[ "$when" != always ]] && systemctl is-enabled --quiet "$unit"; then
        systemctl disable "$unit" || failed=1
      fi
      rm -f "$state"
      continue
    fi
    digest=$(service_digest "$svc")
    if [[ "$when" != always ]] && ! systemctl is-enabled --quiet "$unit"; then
      systemctl enable "$unit" || failed=1
    fi
    if ! systemctl is-active --quiet "$unit"; then
      systemctl start "$unit" || {
        warn "$unit did not start"
        failed=1
        continue
      }
      started+=("$svc")
    elif [[ ! -f "$state" || "$(<"$state")" != "$digest" ]]; then
      systemctl restart "$unit" || {
        warn "$unit did not restart"
        failed=1
        continue
      }
      restarted+=("$svc")
    else
      unchanged+=("$svc")
    fi
    printf '%s\n' "$digest" | write_if_changed "$state" 0600
  done < <(services_for_kind "$kind")
  log "started: ${started[*]:-none}; restarted: ${restarted[*]:-none}; stopped: ${stopped[*]:-none}; unchanged: ${unchanged[*]:-none}"
  ((failed == 0)) || die "some services failed to start or stop (see above and journalctl -u <service>)"
}

main "$@"
