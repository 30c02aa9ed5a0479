package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// Action is what export needs to know about a Switchboard action.
type Action struct {
	Name        string
	Description string          // written into the input contract when it has no description
	Input       json.RawMessage // JSON Schema; empty means any object
	Output      json.RawMessage // JSON Schema; empty means any object
	Timeout     time.Duration   // 0 means Genesys's default, 60 s
	Secure      bool
	// ErrorsAsData: failures answer 200 with ok, status, code, message and
	// retryable in the output (errors = "data" in the host's config).
	ErrorsAsData bool
}

// AuthKind is how Genesys Cloud authenticates to Switchboard, which decides
// the credential type of the Genesys integration.
type AuthKind int

// The inbound authentications an export supports.
const (
	// AuthNone: no credentials (also right for mTLS, configured on the
	// integration, not in the action).
	AuthNone AuthKind = iota
	// AuthBasic: a Basic Auth integration; Genesys adds the Authorization
	// header itself, so the action has none.
	AuthBasic
	// AuthAPIKey: a User Defined integration with the credential field
	// APIKeyField, sent in Options.APIKeyHeader.
	AuthAPIKey
	// AuthOAuth: a User Defined (OAuth) integration with the credential
	// fields ClientIDField and ClientSecretField. Its customAuth action
	// gets a token from Switchboard's POST BASE_URL/oauth/token; the action
	// sends it as a bearer token.
	AuthOAuth
)

// String returns the name ParseAuthKind reads.
func (k AuthKind) String() string {
	switch k {
	case AuthNone:
		return "none"
	case AuthBasic:
		return "basic"
	case AuthAPIKey:
		return "apiKey"
	case AuthOAuth:
		return "oauth"
	}
	return fmt.Sprintf("AuthKind(%d)", int(k))
}

// ParseAuthKind reads none, basic, apiKey (or api_key) and oauth.
func ParseAuthKind(s string) (AuthKind, error) {
	switch s {
	case "none", "":
		return AuthNone, nil
	case "basic":
		return AuthBasic, nil
	case "apiKey", "api_key":
		return AuthAPIKey, nil
	case "oauth":
		return AuthOAuth, nil
	}
	return 0, fmt.Errorf("unknown auth kind %q: want none, basic, apiKey or oauth", s)
}

// Options say where Switchboard is and how Genesys Cloud authenticates.
type Options struct {
	BaseURL      string // Switchboard's public base URL, such as https://switchboard.example.com
	Auth         AuthKind
	APIKeyHeader string // the header AuthAPIKey sends the key in, such as X-Switchboard-Key
}

// The credential fields the exported actions read, and the customAuth
// action's name.
const (
	APIKeyField       = "apiKey"
	ClientIDField     = "clientId"
	ClientSecretField = "clientSecret"
	CustomAuthName    = "Switchboard (Auth)"
)

// JSON returns the data action JSON to import into Genesys Cloud, and for
// AuthOAuth the integration's customAuth action too (nil otherwise).
func JSON(a Action, o Options) (action, customAuth []byte, err error) {
	act, auth, err := build(a, o)
	if err != nil {
		return nil, nil, err
	}
	if action, err = encodeJSON(act); err != nil {
		return nil, nil, err
	}
	if auth != nil {
		if customAuth, err = encodeJSON(auth); err != nil {
			return nil, nil, err
		}
	}
	return action, customAuth, nil
}

// dataAction is the JSON of a Genesys Cloud data action, fields in the
// order of Genesys's own exports.
type dataAction struct {
	Name            string `json:"name"`
	IntegrationType string `json:"integrationType"`
	ActionType      string `json:"actionType"`
	Config          struct {
		Request        request  `json:"request"`
		Response       response `json:"response"`
		TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
	} `json:"config"`
	Contract struct {
		Input struct {
			InputSchema object `json:"inputSchema"`
		} `json:"input"`
		Output struct {
			SuccessSchema object `json:"successSchema"`
		} `json:"output"`
	} `json:"contract"`
	Secure bool `json:"secure"`
}

type request struct {
	RequestURLTemplate string            `json:"requestUrlTemplate"`
	RequestType        string            `json:"requestType"`
	Headers            map[string]string `json:"headers"`
	RequestTemplate    string            `json:"requestTemplate"`
}

type response struct {
	TranslationMap         map[string]string `json:"translationMap"`
	TranslationMapDefaults map[string]string `json:"translationMapDefaults"`
	SuccessTemplate        string            `json:"successTemplate"`
}

// build makes the data action, and the customAuth action for AuthOAuth.
func build(a Action, o Options) (act, auth *dataAction, err error) {
	if a.Name == "" {
		return nil, nil, errors.New("export: the action has no name")
	}
	base, err := baseURL(o.BaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("export %q: %w", a.Name, err)
	}
	headers := map[string]string{"Content-Type": "application/json"}
	switch o.Auth {
	case AuthNone, AuthBasic:
	case AuthAPIKey:
		if !httpguts.ValidHeaderFieldName(o.APIKeyHeader) {
			return nil, nil, fmt.Errorf("export %q: API key header %q is not a valid HTTP header name", a.Name, o.APIKeyHeader)
		}
		if strings.EqualFold(o.APIKeyHeader, "Content-Type") {
			return nil, nil, fmt.Errorf("export %q: the API key cannot travel in Content-Type", a.Name)
		}
		headers[o.APIKeyHeader] = "${credentials." + APIKeyField + "}"
	case AuthOAuth:
		headers["Authorization"] = "Bearer ${authResponse.access_token}"
	default:
		return nil, nil, fmt.Errorf("export %q: unknown auth kind %v", a.Name, o.Auth)
	}

	in, err := toDraft04(a.Input, "input", a.Name+" input", a.Description)
	if err != nil {
		return nil, nil, fmt.Errorf("export %q: %w", a.Name, err)
	}
	out, err := toDraft04(a.Output, "output", a.Name+" output", "")
	if err != nil {
		return nil, nil, fmt.Errorf("export %q: %w", a.Name, err)
	}
	if a.ErrorsAsData {
		if out, err = withErrorFields(out); err != nil {
			return nil, nil, fmt.Errorf("export %q: %w", a.Name, err)
		}
	}
	if err := checkContract(in, out); err != nil {
		return nil, nil, fmt.Errorf("export %q: %w", a.Name, err)
	}

	act = &dataAction{Name: a.Name, IntegrationType: "custom-rest-actions", ActionType: "custom", Secure: a.Secure}
	act.Config.Request = request{
		RequestURLTemplate: base + "/actions/" + escapePath(a.Name),
		RequestType:        "POST",
		Headers:            headers,
		RequestTemplate:    "${input.rawRequest}",
	}
	act.Config.Response = passThrough()
	act.Config.TimeoutSeconds = timeoutSeconds(a.Timeout)
	act.Contract.Input.InputSchema = in
	act.Contract.Output.SuccessSchema = out
	if o.Auth == AuthOAuth {
		auth = customAuthAction(base)
	}
	return act, auth, nil
}

// customAuthAction is the auth action of a User Defined (OAuth) integration
// calling Switchboard: a client-credentials grant with the client id and
// secret in a Basic header, as the reference customAuth exports post them,
// the token response passed through whole (${rawResult}, as in all three
// of them) so ${authResponse.access_token} reads it. Its contracts are
// those Genesys gives every customAuth action.
func customAuthAction(base string) *dataAction {
	auth := &dataAction{Name: CustomAuthName, IntegrationType: "custom-rest-actions", ActionType: "customAuth"}
	auth.Config.Request = request{
		RequestURLTemplate: base + "/oauth/token",
		RequestType:        "POST",
		Headers: map[string]string{
			"Authorization": `Basic $encoding.base64("${credentials.` + ClientIDField + `}:${credentials.` + ClientSecretField + `}")`,
			"Content-Type":  "application/x-www-form-urlencoded",
		},
		RequestTemplate: "grant_type=client_credentials",
	}
	auth.Config.Response = passThrough()
	auth.Contract.Input.InputSchema = object{
		{"$schema", Draft04}, {"title", "Auth Input"}, {"description", "No Input Value"},
		{"type", "object"}, {"properties", object{}},
	}
	auth.Contract.Output.SuccessSchema = object{
		{"$schema", Draft04}, {"type", "object"}, {"properties", object{}}, {"additionalProperties", true},
	}
	return auth
}

// passThrough is the response configuration of an action whose endpoint
// already answers the output: Switchboard's answer is the output.
func passThrough() response {
	return response{TranslationMap: map[string]string{}, TranslationMapDefaults: map[string]string{}, SuccessTemplate: "${rawResult}"}
}

// checkContract applies Genesys's contract rules and compiles both schemas.
func checkContract(in, out object) error {
	inJSON, err := marshal(in)
	if err != nil {
		return err
	}
	outJSON, err := marshal(out)
	if err != nil {
		return err
	}
	if err := contract.Join(contract.Check(inJSON, outJSON)); err != nil {
		return err
	}
	if _, err := contract.Compile(inJSON); err != nil {
		return fmt.Errorf("input schema: %w", err)
	}
	if _, err := contract.Compile(outJSON); err != nil {
		return fmt.Errorf("output schema: %w", err)
	}
	return nil
}

// timeoutSeconds is config.timeoutSeconds: whole seconds, rounded up, 1–60.
func timeoutSeconds(d time.Duration) int {
	if d <= 0 {
		return 60
	}
	return min(max(int(math.Ceil(d.Seconds())), 1), 60)
}

// baseURL checks Switchboard's base URL and returns it without a trailing
// slash. It becomes the start of a Velocity template, so "$" and "#" are
// refused.
func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("base URL %q: want an http or https URL without query, fragment or user", s)
	}
	if strings.ContainsAny(s, "$#") {
		return "", fmt.Errorf("base URL %q: \"$\" and \"#\" would start Velocity references and directives", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// escapePath escapes an action name as one URL path segment that is also
// inert in a Velocity template.
func escapePath(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), "$", "%24")
}

// encodeJSON writes a data action as Genesys's exports look: two-space
// indent, no HTML escaping, a final newline.
func encodeJSON(v *dataAction) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("export %q: %w", v.Name, err)
	}
	return buf.Bytes(), nil
}
