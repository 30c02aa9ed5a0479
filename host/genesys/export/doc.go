// Package export writes what `switchboard export genesys ACTION --url
// BASE_URL [--format json|terraform]` prints: the Genesys Cloud web services
// data action that calls one Switchboard action, as the JSON Genesys Cloud
// imports (JSON) or as Terraform for the Genesys Cloud provider (Terraform).
// The CLI adapts the host's action description to Action.
//
// # The data action
//
// POST BASE_URL/actions/NAME with the headers below and the request
// template ${input.rawRequest} (the input object as sent by the flow); the
// response passes through (translationMap {}, successTemplate
// ${rawResult}); config.timeoutSeconds is the action's timeout rounded up
// to whole seconds, 1–60, 60 when unset; secure as the action says. Headers:
//
//   - always Content-Type: application/json;
//   - AuthBasic: none. A Basic Auth integration "sends the Basic
//     authentication header with every action request" ("Credential types
//     for the web services data actions integration",
//     https://help.mypurecloud.com/articles/credential-types-web-services-data-actions-integration/);
//     its fields are userName and password.
//   - AuthAPIKey: "<APIKeyHeader>: ${credentials.apiKey}", for a User
//     Defined integration with the credential field apiKey ("How to use the
//     User Defined credential type",
//     https://help.mypurecloud.com/articles/how-to-use-the-user-defined-credential-type/).
//   - AuthOAuth: "Authorization: Bearer ${authResponse.access_token}", for a
//     User Defined (OAuth) integration with the fields clientId and
//     clientSecret. JSON also returns that integration's customAuth action:
//     POST BASE_URL/oauth/token, Authorization
//     Basic $encoding.base64("${credentials.clientId}:${credentials.clientSecret}"),
//     form body grant_type=client_credentials, the token response passed
//     through as authResponse — the shape of the reference customAuth
//     exports (Office-365-Auth posts a form the same way; all three pass
//     ${rawResult} through) and of the Terraform provider's
//     genesyscloud_integration_custom_auth_action example. Its contracts
//     are those Genesys gives every customAuth action ("Auth Input", "No
//     Input Value"). The client id and secret are sent as they are, not
//     form-encoded first (RFC 6749 §2.3.1 would): Switchboard's token
//     endpoint must accept that, as Genesys Cloud's own does.
//
// # Contracts
//
// Both schemas are rewritten in draft-04, the dialect of Genesys Cloud
// contracts: "$schema" http://json-schema.org/draft-04/schema# and a title
// first (the schema's own, else "NAME input" / "NAME output"); the action's
// description goes into the input schema when it has none. An absent schema
// becomes {"type":"object","properties":{},"additionalProperties":true},
// as in the reference exports of actions without inputs. Converted: const
// to a one-value enum; numeric exclusiveMinimum/exclusiveMaximum to the
// draft-04 boolean form (keeping the stricter bound); prefixItems and items
// to items and additionalItems; dependentRequired and dependentSchemas to
// dependencies; $defs to definitions; boolean subschemas to {} and
// {"not":{}}; an empty required is dropped. Annotations draft-04 lacks
// ($id, $comment, examples, deprecated, readOnly, writeOnly, content*) are
// dropped. Refused with an error naming the location: $ref (and the
// dynamic references), if/then/else, contains, propertyNames,
// unevaluated*, const with enum. The result must pass contract.Check and
// compile.
//
// With ErrorsAsData the success schema gets the members ok (boolean),
// status (integer), code, message (string) and retryable (boolean), and
// its required list becomes ["ok"]: a failure answers those members alone,
// and any other required member would make Genesys reject it as breaking
// the success schema. So the host must answer "ok": true on success.
//
// # Terraform
//
// Attributes follow the provider's documentation of
// genesyscloud_integration_action (name, category, integration_id, secure,
// config_timeout_seconds, contract_input and contract_output as
// jsonencode(...), config_request, config_response) and of
// genesyscloud_integration_custom_auth_action (integration_id, name,
// config_request, config_response; no contracts, no timeout: "invalid for
// Custom Authentication Actions"), from github.com/MyPureCloud/terraform-provider-genesyscloud
// docs/resources. integration_id and category are variables; "${" in
// templates is written "$${" so Terraform does not interpolate it.
package export
