#!/usr/bin/env bash
# hosts-refresh: the node's own name and kube-apiserver.podplane.internal in /etc/hosts (hosts.sh
# says how and why).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../../lib/common.sh"
# shellcheck source=SCRIPTDIR/hosts.sh
source "${BASH_SOURCE[0]%/*}/hosts.sh"

refresh_hosts
