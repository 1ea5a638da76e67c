#!/usr/bin/env bash
# containerd: everything is in /etc/containerd/config.toml (configure_containerd); the env file
# only holds the registry variables whose change must restart it.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

run_binary /usr/local/bin/containerd --config=/etc/containerd/config.toml
