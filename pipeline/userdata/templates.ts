// The two user-data shapes. Handlebars fills in only pre-quoted lines (triple-stash, noEscape),
// so the templates never see a raw value and Nstance's own `{{ .X }}` placeholders inside
// values pass through untouched: Handlebars does not evaluate what it outputs.

export const SCRIPT_TEMPLATE = `#!/bin/bash
# Podplane {{kind}} user-data: writes /opt/podplane/etc/user-data.env and runs configure.sh.
# Everything else is baked into the image.
set -euo pipefail
umask 077
install -d -m 0755 /opt/podplane/etc
cat >/opt/podplane/etc/.user-data.env.tmp <<'{{delimiter}}'
{{#each lines}}
{{{this}}}
{{/each}}
{{delimiter}}
chmod 0600 /opt/podplane/etc/.user-data.env.tmp
mv -f /opt/podplane/etc/.user-data.env.tmp /opt/podplane/etc/user-data.env
exec /opt/podplane/bin/configure.sh
`;

export const CLOUD_CONFIG_TEMPLATE = `#cloud-config
# Podplane {{kind}} user-data: writes /opt/podplane/etc/user-data.env and runs configure.sh.
write_files:
  - path: /opt/podplane/etc/user-data.env
    owner: root:root
    permissions: '0600'
    content: |
{{#each lines}}
      {{{this}}}
{{/each}}
runcmd:
  - [/opt/podplane/bin/configure.sh]
`;
