#!/usr/bin/env bash
# nstance-agent: configured only through NSTANCE_* environment variables (it has no flags
# beyond --debug/--version). Identity (ca.crt, nonce.jwt from the user-data), generated keys and
# received files live in /opt/nstance-agent/{identity,keys,recv}, all owned by its user.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

main() {
  export_as NSTANCE_SERVER_REGISTRATION_ADDR NSTANCE_SERVER_REGISTRATION_ADDR
  export_as NSTANCE_SERVER_AGENT_ADDR NSTANCE_SERVER_AGENT_ADDR
  export NSTANCE_IDENTITY_DIR=/opt/nstance-agent/identity NSTANCE_IDENTITY_MODE=0600
  # Keys 0640 and received files 0600: nstance-recv-watch (root) copies them to their places.
  export NSTANCE_KEYS_DIR=/opt/nstance-agent/keys NSTANCE_KEYS_MODE=0640
  export NSTANCE_RECV_DIR=/opt/nstance-agent/recv NSTANCE_RECV_MODE=0600
  export_as NSTANCE_INSTANCE_KIND VMCONFIG_KIND
  export_as NSTANCE_INSTANCE_ID INSTANCE_ID
  export_as NSTANCE_INSTANCE_HOSTNAME INSTANCE_HOSTNAME
  export_as NSTANCE_INSTANCE_FQDN INSTANCE_FQDN
  export_as NSTANCE_INSTANCE_IPV4 INSTANCE_IPV4
  export_as NSTANCE_INSTANCE_IPV6 INSTANCE_IPV6
  export NSTANCE_SPOT_POLL_INTERVAL=2s
  run_binary /usr/local/bin/nstance-agent
}

main "$@"
