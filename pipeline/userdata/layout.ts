// Podplane's user-data.env as its user-data writes it (podplane/podplane pkg/userdata): the
// names, their order and blank-line groups, and where each value comes from. Nstance fills the
// `launch` placeholders when it launches an instance; `option` values are known at build time.
// vmconfig's variables.tsv lists the same names as its `user-data` rows with these placeholders
// in its template column (test/userdata/layout.test.ts keeps the two in step).

export type FieldSource = "launch" | "option";

export interface UserDataField {
  name: string;
  from: FieldSource;
  /** The Nstance template field a `launch` value is. */
  placeholder?: string;
  /** Multi-line values are allowed (several SSH keys, a PEM). */
  multiline?: boolean;
}

export const USER_DATA_ENV_GROUPS: readonly (readonly UserDataField[])[] = [
  [{ name: "IMMUTABLE_SSH_AUTHORIZED_KEYS", from: "option", multiline: true }],
  [
    { name: "INSTANCE_ID", from: "launch", placeholder: "{{ .Instance.ID }}" },
    { name: "CLUSTER_ID", from: "launch", placeholder: "{{ .Cluster.ID }}" },
  ],
  [
    { name: "PROVIDER_KIND", from: "option" },
    { name: "PROVIDER_REGION", from: "launch", placeholder: "{{ .Provider.Region }}" },
    { name: "PROVIDER_ZONE", from: "launch", placeholder: "{{ .Provider.Zone }}" },
    { name: "PROVIDER_INSTANCE_TYPE", from: "launch", placeholder: "{{ .Instance.Type }}" },
    { name: "AWS_ACCOUNT_ID", from: "option" },
    { name: "GOOGLE_PROJECT_ID", from: "option" },
  ],
  [
    { name: "NSTANCE_CA_CERT", from: "launch", placeholder: "{{ .Cluster.CACert }}", multiline: true },
    { name: "NSTANCE_SERVER_REGISTRATION_ADDR", from: "launch", placeholder: "{{ .Server.RegistrationAddr }}" },
    { name: "NSTANCE_SERVER_AGENT_ADDR", from: "launch", placeholder: "{{ .Server.AgentAddr }}" },
  ],
];

export const USER_DATA_ENV_FIELDS: readonly UserDataField[] = USER_DATA_ENV_GROUPS.flat();

/** Not a user-data.env variable: the registration nonce goes only to identity/nonce.jwt. */
export const NONCE_PLACEHOLDER = "{{ .Nonce }}";

/** Every placeholder Nstance fills in the rendered script. */
export const LAUNCH_PLACEHOLDERS: readonly string[] = [...USER_DATA_ENV_FIELDS.flatMap((f) => (f.placeholder ? [f.placeholder] : [])), NONCE_PLACEHOLDER];

export const PROVIDER_KINDS = ["local", "aws", "google", "proxmox"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
