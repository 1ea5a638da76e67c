#!/usr/bin/env bash
# Runs nstance-agent with flags from /opt/env/nstance-agent.env. The nonce JWT and CA stay in the environment (never argv).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

main() {
  add_flag --registration-addr NSTANCE_SERVER_REGISTRATION_ADDR
  add_flag --agent-addr NSTANCE_SERVER_AGENT_ADDR
  add_flag --instance-id INSTANCE_ID
  add_flag --cluster-id CLUSTER_ID
  add_flag --provider PROVIDER
  add_flag --region PROVIDER_REGION
  add_flag --hostname NODE_HOSTNAME
  export_as NSTANCE_AGENT_NONCE_JWT NSTANCE_NONCE_JWT
  export_as NSTANCE_AGENT_CA NSTANCE_CA
  run_binary /usr/local/bin/nstance-agent --recv-dir=/opt/nstance-agent/recv
}

main "$@"
