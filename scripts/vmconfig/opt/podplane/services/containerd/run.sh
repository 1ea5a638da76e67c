#!/usr/bin/env bash
# containerd: everything is in /etc/containerd/config.toml (configure_containerd), its one
# restarting input besides the (empty) env file its unit waits for. The registry's hosts.toml and
# client certificate are not inputs: containerd reads certs.d/<host>/hosts.toml and the files it
# names afresh for every pull and resolve, so a delivery that turns the registry on or moves it
# needs no restart (the sandbox image is preloaded; one that is not goes through the registry by
# name in config.toml, which does restart it).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../../lib/wrapper.sh"

run_binary /usr/local/bin/containerd --config=/etc/containerd/config.toml
