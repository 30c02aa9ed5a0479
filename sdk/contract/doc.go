// Package contract checks JSON Schema documents against the rules Genesys
// Cloud imposes on data action contracts, and compiles them the way the rest
// of Switchboard validates with them. The host runs Check when it loads a
// plugin's action, export runs it before writing a data action, the
// data-action emulator compiles contracts with Compile, and sdktest runs
// both on a plugin's actions, so that a plugin's own tests catch what the
// host would refuse. It lives with the SDK, which it must not weigh down:
// the sdk package itself never imports it (it needs jsonschema).
//
// # Rules
//
// Each Violation carries a stable rule id:
//
//   - schema-json: a schema must be a JSON object (or absent).
//   - max-depth: a schema document nests at most MaxDepth (50) levels of
//     objects and arrays.
//   - no-ref: no "$ref" anywhere (nor "$dynamicRef", "$recursiveRef").
//   - input-object: the input schema's root is {"type": "object", ...}.
//   - input-flat: every input property (properties, patternProperties, a
//     schema-valued additionalProperties, and those of root-level allOf,
//     anyOf and oneOf) declares a type made of string, integer, number,
//     boolean and null only; ["string", "null"] is fine.
//   - input-name: input property names start with an ASCII letter and hold
//     only ASCII letters, digits, "-" and "_".
//   - input-reserved: orgId, integrationId and rawRequest are not input names.
//   - output-nested-array: no array schema in the output, at any depth, has
//     items (items, prefixItems, additionalItems) that are arrays.
//
// An absent schema — nil, empty, whitespace or JSON null — and the empty
// schema {} pass every rule: they mean "any object". For the input that is
// an action without declared inputs; Genesys expresses it as
// {"type":"object","properties":{},"additionalProperties":true}, which is
// what the reference exports Bamboo-Get-Agents and Bamboo-Get-TimeOff-Types
// carry and what export writes for it.
//
// # Sources
//
//   - "Add contracts to custom actions for integrations",
//     https://help.mypurecloud.com/articles/add-contracts-custom-actions-integrations/
//     (?p=141876): contracts do not support $ref; the input contract is an
//     object of key-value pairs limited to string, integer, number, Boolean
//     and null, without nested objects; property names start with a letter
//     (a-z, A-Z) and contain only letters, numbers, hyphens and underscores;
//     orgId, integrationId and rawRequest are reserved ("you will overwrite
//     existing properties with these names and cause the data action to
//     fail"); the output contract does not support nested arrays; contracts
//     cannot change after the action is published.
//   - "Request configuration for data actions",
//     https://help.mypurecloud.com/articles/request-configuration-data-actions/
//     (?p=138534): the depth of JSON objects is limited to 50 levels.
//
// Where the sources are silent this package chose: a property with no type
// breaks input-flat (it would accept objects); "$ref" is flagged as a key
// anywhere in the document, as "anywhere" reads, even as a property name;
// the tuple form "items": [{...}] is not a nested array unless an element
// is itself an array schema; the output root may be any type (the
// salesforce reference export's root is an array).
package contract
