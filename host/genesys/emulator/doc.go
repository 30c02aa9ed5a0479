// Package emulator runs Genesys Cloud web services data actions
// (integrationType custom-rest-actions) the way Genesys Cloud's data-action
// engine does, for `switchboard genesys run DEFINITION.json --input JSON
// [--trace]` and for tests: Parse a definition once, Run it many times.
//
// # What Run does
//
//  1. Runs the integration's customAuth action first when the credential
//     type is UserDefinedOAuth (steps 2–10, traced with the prefix
//     "auth "), with the input {}. Its output — a JSON object — is
//     ${authResponse} for the rest of the run.
//  2. Decodes the input, which must be a JSON object, and validates it
//     against contract.input.inputSchema (draft-04 unless it says
//     otherwise); an error wrapping ErrInput names each failing location.
//  3. Builds the Velocity context: input (the input's members, plus
//     rawRequest, the input as compact JSON text), credentials (the
//     integration's credential fields) and authResponse.
//  4. Renders requestUrlTemplate, every header value, and — for POST, PUT
//     and PATCH only — requestTemplate. Header names are sent as written.
//  5. Adds the headers Genesys adds: RunOptions.Header, ININ-Correlation-Id
//     (a new UUID unless Header sets it), and for BasicAuth
//     "Authorization: Basic base64(userName:password)", which replaces any
//     Authorization the templates rendered.
//  6. Sends the request with RunOptions.Client, within the action's
//     timeout (config.timeoutSeconds, 1–60, default 60).
//  7. Fails on a non-2xx answer with an *HTTPError carrying the status and
//     the body; on a body above MaxResponseBytes (2 MB) with ErrTooLarge;
//     on a body that is not JSON with ErrNotJSON. An empty 2xx body is the
//     empty object {}.
//  8. Evaluates each translationMap JSONPath (Jayway semantics, package
//     jsonpath) over the decoded body. The JSON text of the result becomes
//     a Velocity variable of the entry's name: a string arrives quoted, so
//     a template writes {"name": ${name}}. When a path resolves nothing the
//     translationMapDefaults entry is used, as written (it is JSON text);
//     a JSON null is a value and takes no default. A path that resolves
//     nothing without a default fails the run with ErrTranslation.
//  9. Renders successTemplate with input, rawResult (the body text) and
//     the translation variables.
//  10. Parses the result as JSON and validates it against
//     contract.output.successSchema; ErrOutput otherwise. Returns it.
//
// Tests and the CLI point a production definition at a local server with
// RunOptions.BaseURL, which replaces the scheme and host of every request
// URL and keeps its path and query.
//
// # Trace and redaction
//
// RunOptions.Trace receives, in order: "request" (method and URL),
// "header" (one "Name: value" per header, sorted), "body", "status",
// "response" (the raw result), "translation" ("name = JSON"), "output".
// Nothing secret reaches it. Templates are rendered a second time for the
// trace with every credential value, and every authResponse string under a
// secret-looking key, replaced by "[redacted]"; a header whose value a
// secret changed is shown as its real value with the secret-derived words
// redacted, so "Basic [redacted]" rather than base64 of "id:secret" (or
// as the redacted rendering, when a secret too short to be searched for
// would stay visible).
// Genesys's own Basic header shows as "Basic [redacted]". Every trace line
// then has each known secret replaced in its raw, JSON-escaped,
// URL-escaped and base64 forms (and, for a URL, its path and query values,
// since BaseURL swaps its host): credential values; the strings of a 2xx
// customAuth response under a key naming a token (but not token_type), a
// secret, a password, a key, an assertion or a code; and the words a
// secret turned into in a rendered header. Secrets shorter than 4
// characters are not searched for in free text (replacing every "x" would
// garble the trace), though templates never show them. Error messages and
// HTTPError.Body are redacted the same way.
//
// # Genesys Cloud facts, with sources
//
//   - Request: "Request configuration for data actions",
//     https://help.mypurecloud.com/articles/request-configuration-data-actions/
//     — request templates define the bodies of POST, PUT and PATCH; GET
//     requests do not use them and show the default "${input.rawRequest}";
//     header values are Velocity.
//   - Response: "Response configuration for data actions",
//     https://help.mypurecloud.com/articles/response-configuration-data-actions/
//     — translation maps map names to what JSONPath expressions return;
//     defaults apply when a path "fails to resolve a value"; "null values
//     do not fall back to defaults"; success templates insert translation
//     values with ${name} and must produce a response that conforms to the
//     success schema, "otherwise, errors result".
//   - Translation values are JSON text: the Terraform provider's documented
//     example (registry docs of genesyscloud_integration_action) writes
//     success_template = "{ \"name\": $${nameValue}, ... }" with no quotes
//     around a string value, and the reference export
//     Get-On-Queue-Agent-Counts sets defaults as JSON ("[\"Error\"]", "[0]").
//   - Velocity: "Velocity macros for data actions",
//     https://help.mypurecloud.com/articles/velocity-macros-data-actions/ —
//     formal notation ${x} renders the reference's name when x is null,
//     silent $!{x} renders nothing.
//   - Credentials: "Credential types for the web services data actions
//     integration",
//     https://help.mypurecloud.com/articles/credential-types-web-services-data-actions-integration/
//     — Basic Auth sends the Basic authentication header with every action
//     request; User Defined fields are used through ${credentials.NAME};
//     User Defined (OAuth) sends the credentials once to the authorization
//     endpoint and actions use the response. "Workflow for the User Defined
//     (OAuth) credential type", https://help.mypurecloud.com/?p=149524 —
//     the integration executes the authentication action, then the custom
//     action with ${authResponse.<field>} resolved. The basicAuth fields are
//     userName and password (Terraform provider,
//     genesyscloud_integration_credential example).
//   - Limits (docs/DESIGN.md, "Genesys Cloud facts"): timeout 1–60 s,
//     default 60; above 2 MB of response Architect takes the failure path;
//     responses must be JSON; Genesys adds ININ-Correlation-Id.
//
// # Choices where the sources are silent
//
// An empty 2xx body is {} (the reference exports Update-Zoom-User-Presence
// and Update-Teams-User-Presence call endpoints answering 204 or an empty
// 200 and declare an empty-object success schema). A translation path that
// resolves nothing without a default fails the action. The success template
// sees input, rawResult and translations, not credentials or authResponse.
// The customAuth response is fetched once per Run and not refreshed on a
// 401. The response's Content-Type is not checked, only its body. Only the
// integration type custom-rest-actions is emulated: Genesys Cloud data
// actions call the Genesys API with the integration's own OAuth client,
// function data actions run a Lambda, Salesforce ones a Salesforce org.
package emulator
