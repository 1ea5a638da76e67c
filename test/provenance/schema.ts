// A JSON schema for what we write, written from the specs (no official JSON schema ships with
// them: in-toto's attestation framework defines its types in protobuf and Markdown, SLSA v1 in
// Markdown): in-toto Statement v1 (_type, subject, predicateType, predicate) with
// ResourceDescriptor v1 (name, uri, digest, content, downloadLocation, mediaType, annotations;
// at least one of uri, digest, content), and the SLSA Provenance v1 predicate (buildDefinition:
// buildType, externalParameters, internalParameters, resolvedDependencies; runDetails: builder
// {id, version, builderDependencies}, metadata {invocationId, startedOn, finishedOn},
// byproducts). Closed objects where the spec lists every field, so a misspelt field fails.
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const digestSet = {
  type: "object",
  minProperties: 1,
  // Lowercase algorithm names; hex values for the sha2 family.
  propertyNames: { pattern: "^[a-z0-9_-]+$" },
  additionalProperties: { type: "string", pattern: "^[0-9a-f]+$" },
};

const resourceDescriptor = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string" },
    uri: { type: "string", format: "uri" },
    digest: digestSet,
    content: { type: "string", contentEncoding: "base64" },
    downloadLocation: { type: "string", format: "uri" },
    mediaType: { type: "string" },
    annotations: { type: "object" },
  },
  anyOf: [{ required: ["uri"] }, { required: ["digest"] }, { required: ["content"] }],
};

export const STATEMENT_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  required: ["_type", "subject", "predicateType", "predicate"],
  additionalProperties: false,
  properties: {
    _type: { const: "https://in-toto.io/Statement/v1" },
    subject: { type: "array", minItems: 1, items: { allOf: [resourceDescriptor, { required: ["name", "digest"] }] } },
    predicateType: { const: "https://slsa.dev/provenance/v1" },
    predicate: {
      type: "object",
      required: ["buildDefinition", "runDetails"],
      additionalProperties: false,
      properties: {
        buildDefinition: {
          type: "object",
          required: ["buildType", "externalParameters"],
          additionalProperties: false,
          properties: {
            buildType: { type: "string", format: "uri" },
            externalParameters: { type: "object" },
            internalParameters: { type: "object" },
            resolvedDependencies: { type: "array", items: resourceDescriptor },
          },
        },
        runDetails: {
          type: "object",
          required: ["builder"],
          additionalProperties: false,
          properties: {
            builder: {
              type: "object",
              required: ["id"],
              additionalProperties: false,
              properties: {
                id: { type: "string", format: "uri" },
                version: { type: "object", additionalProperties: { type: "string" } },
                builderDependencies: { type: "array", items: resourceDescriptor },
              },
            },
            metadata: {
              type: "object",
              additionalProperties: false,
              properties: { invocationId: { type: "string" }, startedOn: { type: "string", format: "date-time" }, finishedOn: { type: "string", format: "date-time" } },
            },
            byproducts: { type: "array", items: resourceDescriptor },
          },
        },
      },
    },
  },
} as const;

/** Validation errors of a statement against the schema, one string each ([] when valid). */
export function statementErrors(statement: unknown): string[] {
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const validate = ajv.compile(STATEMENT_SCHEMA);
  if (validate(statement)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""}`);
}
