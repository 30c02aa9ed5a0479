package export

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/switchboard-dev/switchboard/host/internal/golden"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

const base = "https://switchboard.example.com"

// exportCase is one action exported with one set of options.
type exportCase struct {
	action Action
	opts   Options
}

// json exports the case as JSON, failing t on an error.
func (tc exportCase) json(t *testing.T) (action, auth []byte) {
	t.Helper()
	action, auth, err := JSON(tc.action, tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	return action, auth
}

// terraform exports the case as Terraform, failing t on an error.
func (tc exportCase) terraform(t *testing.T) []byte {
	t.Helper()
	tf, err := Terraform(tc.action, tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// exportCases are the golden cases, also run through the emulator.
func exportCases() map[string]exportCase {
	return map[string]exportCase{
		"none-minimal": {
			action: Action{Name: "echo"},
			opts:   Options{BaseURL: base + "/"},
		},
		"basic-fetchUserProfile": {
			action: Action{
				Name:        "fetchUserProfile",
				Description: "Look up a Genesys Cloud user",
				Input:       json.RawMessage(`{"type":"object","properties":{"userId":{"type":"string"}},"required":["userId"]}`),
				Output:      json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"}},"required":["id","name"]}`),
				Timeout:     8 * time.Second,
			},
			opts: Options{BaseURL: base, Auth: AuthBasic},
		},
		"apikey-errors-as-data": {
			action: Action{
				Name:         "lookupOrder",
				Input:        json.RawMessage(`{"title":"Order lookup","type":"object","properties":{"orderId":{"type":"string","minLength":1},"verbose":{"type":["boolean","null"]}},"required":["orderId"],"additionalProperties":false}`),
				Output:       json.RawMessage(`{"type":"object","properties":{"state":{"type":"string","enum":["open","shipped"]},"total":{"type":"number"}},"required":["state","total"]}`),
				Timeout:      2500 * time.Millisecond,
				ErrorsAsData: true,
			},
			opts: Options{BaseURL: base + "/gateway", Auth: AuthAPIKey, APIKeyHeader: "X-Switchboard-Key"},
		},
		"oauth-secure": {
			action: Action{
				Name:    "verify caller",
				Input:   json.RawMessage(`{"type":"object","properties":{"ani":{"type":"string","pattern":"^\\+[0-9]{6,15}$"},"pin":{"type":"string"}},"required":["ani","pin"]}`),
				Output:  json.RawMessage(`{"type":"object","properties":{"verified":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}}}}`),
				Timeout: 90 * time.Second,
				Secure:  true,
			},
			opts: Options{BaseURL: base, Auth: AuthOAuth},
		},
		"draft2020-schemas": {
			action: Action{
				Name: "quote",
				Input: json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://example.com/quote.json","type":"object",
					"properties":{"amount":{"type":"number","exclusiveMinimum":0,"examples":[10]},"currency":{"type":"string","const":"EUR"},"note":{"type":"string","$comment":"free text","deprecated":true}},
					"dependentRequired":{"note":["amount"]},"required":[]}`),
				Output: json.RawMessage(`{"type":"object","$defs":{"unused":{"type":"string"}},
					"properties":{"price":{"type":"number","minimum":1,"exclusiveMinimum":0.5,"maximum":100,"exclusiveMaximum":50},
					"pair":{"type":"array","prefixItems":[{"type":"string"},true],"items":false},
					"extra":{"not":false},"meta":{"type":"object","additionalProperties":{"type":"string"},"dependentSchemas":{"a":{"required":["b"]}}}}}`),
			},
			opts: Options{BaseURL: "http://127.0.0.1:8080"},
		},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, tc := range exportCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			act, auth := tc.json(t)
			checkGolden(t, name+".json", act)
			if (auth != nil) != (tc.opts.Auth == AuthOAuth) {
				t.Fatalf("customAuth %s for auth %v", auth, tc.opts.Auth)
			}
			if auth != nil {
				checkGolden(t, name+".customAuth.json", auth)
			}
			checkGolden(t, name+".tf", tc.terraform(t))
		})
	}
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", file), got)
}

// TestJSONShape checks the exports against the reference exports' shape.
func TestJSONShape(t *testing.T) {
	t.Parallel()
	for name, tc := range exportCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			act, auth := tc.json(t)
			for _, doc := range [][]byte{act, auth} {
				if doc == nil {
					continue
				}
				var d struct {
					Name, IntegrationType, ActionType string
					Config                            struct {
						Request struct {
							RequestURLTemplate, RequestType, RequestTemplate string
							Headers                                          map[string]string
						}
						Response struct {
							TranslationMap, TranslationMapDefaults map[string]string
							SuccessTemplate                        string
						}
						TimeoutSeconds *int
					}
					Contract struct {
						Input  struct{ InputSchema json.RawMessage }
						Output struct{ SuccessSchema json.RawMessage }
					}
					Secure *bool
				}
				if err := json.Unmarshal(doc, &d); err != nil {
					t.Fatal(err)
				}
				if d.IntegrationType != "custom-rest-actions" || d.Config.Request.RequestType != "POST" || d.Secure == nil ||
					d.Config.Response.TranslationMap == nil || d.Config.Response.SuccessTemplate != "${rawResult}" {
					t.Errorf("unexpected shape: %s", doc)
				}
				if vs := contract.Check(d.Contract.Input.InputSchema, d.Contract.Output.SuccessSchema); len(vs) > 0 {
					t.Errorf("contract violations: %v", contract.Join(vs))
				}
				switch d.ActionType {
				case "custom":
					if d.Config.Request.RequestTemplate != "${input.rawRequest}" || d.Config.Request.Headers["Content-Type"] != "application/json" ||
						!strings.HasPrefix(d.Config.Request.RequestURLTemplate, strings.TrimRight(tc.opts.BaseURL, "/")+"/actions/") ||
						d.Config.TimeoutSeconds == nil || *d.Config.TimeoutSeconds < 1 || *d.Config.TimeoutSeconds > 60 {
						t.Errorf("unexpected custom action: %s", doc)
					}
				case "customAuth":
					if d.Name != CustomAuthName || d.Config.TimeoutSeconds != nil || d.Config.Request.RequestURLTemplate != base+"/oauth/token" {
						t.Errorf("unexpected customAuth action: %s", doc)
					}
				default:
					t.Errorf("actionType %q", d.ActionType)
				}
			}
		})
	}
}

// TestTerraformMatchesJSON parses each Terraform export with HCL, evaluates
// its attributes (jsonencode included) and compares them with the JSON
// export: same contracts, same templates once Terraform unescapes "$${".
func TestTerraformMatchesJSON(t *testing.T) {
	t.Parallel()
	evalCtx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
			IntegrationIDVariable: cty.StringVal("integration-1"), CategoryVariable: cty.StringVal("Switchboard"),
		})},
		Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc},
	}
	for name, tc := range exportCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tf := tc.terraform(t)
			file, diags := hclsyntax.ParseConfig(tf, name+".tf", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("%s\n%s", diags, tf)
			}
			jsonAct, jsonAuth := tc.json(t)
			resources := map[string]*hclsyntax.Body{}
			for _, b := range file.Body.(*hclsyntax.Body).Blocks {
				if b.Type == "resource" {
					resources[b.Labels[0]] = b.Body
				}
			}
			compare := func(t *testing.T, body *hclsyntax.Body, doc []byte) {
				var want map[string]any
				if err := json.Unmarshal(doc, &want); err != nil {
					t.Fatal(err)
				}
				cfg := want["config"].(map[string]any)
				req, resp := cfg["request"].(map[string]any), cfg["response"].(map[string]any)
				got := map[string]any{"name": eval(t, evalCtx, body, "name")}
				for _, blk := range body.Blocks {
					for attr := range blk.Body.Attributes {
						got[blk.Type+"."+attr] = eval(t, evalCtx, blk.Body, attr)
					}
				}
				wantFlat := map[string]any{
					"name":                                     want["name"],
					"config_request.request_url_template":      req["requestUrlTemplate"],
					"config_request.request_type":              req["requestType"],
					"config_request.request_template":          req["requestTemplate"],
					"config_request.headers":                   req["headers"],
					"config_response.translation_map":          resp["translationMap"],
					"config_response.translation_map_defaults": resp["translationMapDefaults"],
					"config_response.success_template":         resp["successTemplate"],
				}
				if want["actionType"] == "custom" {
					ct := want["contract"].(map[string]any)
					got["contract_input"] = decode(t, eval(t, evalCtx, body, "contract_input").(string))
					got["contract_output"] = decode(t, eval(t, evalCtx, body, "contract_output").(string))
					got["secure"] = eval(t, evalCtx, body, "secure")
					got["config_timeout_seconds"] = eval(t, evalCtx, body, "config_timeout_seconds")
					got["integration_id"] = eval(t, evalCtx, body, "integration_id")
					wantFlat["contract_input"] = ct["input"].(map[string]any)["inputSchema"]
					wantFlat["contract_output"] = ct["output"].(map[string]any)["successSchema"]
					wantFlat["secure"] = want["secure"]
					wantFlat["config_timeout_seconds"] = cfg["timeoutSeconds"]
					wantFlat["integration_id"] = "integration-1"
				}
				for k, w := range wantFlat {
					if !reflect.DeepEqual(got[k], w) {
						t.Errorf("%s: terraform %#v, json %#v", k, got[k], w)
					}
				}
			}
			compare(t, resources["genesyscloud_integration_action"], jsonAct)
			if jsonAuth != nil {
				compare(t, resources["genesyscloud_integration_custom_auth_action"], jsonAuth)
			} else if _, ok := resources["genesyscloud_integration_custom_auth_action"]; ok {
				t.Error("custom auth resource without AuthOAuth")
			}
		})
	}
}

// eval evaluates an attribute and converts it to what encoding/json
// decodes (numbers as float64, objects as map[string]any).
func eval(t *testing.T, ctx *hcl.EvalContext, body *hclsyntax.Body, name string) any {
	t.Helper()
	attr, ok := body.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %s", name)
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", name, diags)
	}
	j, err := stdlib.JSONEncode(v)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, j.AsString())
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ok := Action{Name: "a"}
	tests := map[string]struct {
		action Action
		opts   Options
		want   []string
	}{
		"no name":                 {Action{}, Options{BaseURL: base}, []string{"no name"}},
		"no base url":             {ok, Options{}, []string{`base URL ""`}},
		"relative base url":       {ok, Options{BaseURL: "/x"}, []string{"want an http or https URL"}},
		"base url query":          {ok, Options{BaseURL: base + "?a=1"}, []string{"without query"}},
		"base url velocity":       {ok, Options{BaseURL: base + "/$x"}, []string{`"$" and "#"`}},
		"api key no header":       {ok, Options{BaseURL: base, Auth: AuthAPIKey}, []string{"not a valid HTTP header name"}},
		"api key bad header":      {ok, Options{BaseURL: base, Auth: AuthAPIKey, APIKeyHeader: "X Key"}, []string{"not a valid HTTP header name"}},
		"api key in content type": {ok, Options{BaseURL: base, Auth: AuthAPIKey, APIKeyHeader: "content-type"}, []string{"Content-Type"}},
		"unknown auth":            {ok, Options{BaseURL: base, Auth: AuthKind(9)}, []string{"unknown auth kind AuthKind(9)"}},
		"nested input": {
			Action{Name: "a", Input: json.RawMessage(`{"type":"object","properties":{"address":{"type":"object"},"orgId":{"type":"string"}}}`)},
			Options{BaseURL: base},
			[]string{"rule input-flat", "rule input-reserved", "/properties/address"},
		},
		"nested array output": {
			Action{Name: "a", Output: json.RawMessage(`{"type":"object","properties":{"m":{"type":"array","items":{"type":"array"}}}}`)},
			Options{BaseURL: base},
			[]string{"rule output-nested-array"},
		},
		"ref":         {Action{Name: "a", Output: json.RawMessage(`{"properties":{"a":{"$ref":"#/definitions/x"}}}`)}, Options{BaseURL: base}, []string{"output schema at /properties/a/$ref", "references"}},
		"if then":     {Action{Name: "a", Output: json.RawMessage(`{"if":{"required":["a"]},"then":{"required":["b"]}}`)}, Options{BaseURL: base}, []string{"output schema at /if: if cannot be expressed in draft-04"}},
		"const enum":  {Action{Name: "a", Input: json.RawMessage(`{"type":"object","properties":{"c":{"type":"string","const":"a","enum":["a","b"]}}}`)}, Options{BaseURL: base}, []string{"/properties/c/const"}},
		"false":       {Action{Name: "a", Output: json.RawMessage(`false`)}, Options{BaseURL: base}, []string{"accepts nothing"}},
		"not object":  {Action{Name: "a", Input: json.RawMessage(`"x"`)}, Options{BaseURL: base}, []string{"must be a JSON object"}},
		"not json":    {Action{Name: "a", Input: json.RawMessage(`{"type":`)}, Options{BaseURL: base}, []string{"input schema"}},
		"bad draft04": {Action{Name: "a", Output: json.RawMessage(`{"type":"objekt"}`)}, Options{BaseURL: base}, []string{"output schema"}},
		"errors as data collide": {
			Action{Name: "a", ErrorsAsData: true, Output: json.RawMessage(`{"type":"object","properties":{"status":{"type":"string"}}}`)},
			Options{BaseURL: base}, []string{`property "status" collides`},
		},
		"errors as data array": {
			Action{Name: "a", ErrorsAsData: true, Output: json.RawMessage(`{"type":"array"}`)},
			Options{BaseURL: base}, []string{"needs an object output"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, errJSON := JSON(tc.action, tc.opts)
			_, errTF := Terraform(tc.action, tc.opts)
			for _, err := range []error{errJSON, errTF} {
				if err == nil {
					t.Fatal("export succeeded, want an error")
				}
				for _, want := range tc.want {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
			}
		})
	}
}

func TestContractViolationIsTyped(t *testing.T) {
	t.Parallel()
	_, _, err := JSON(Action{Name: "a", Input: json.RawMessage(`{"type":"object","properties":{"rawRequest":{"type":"string"}}}`)}, Options{BaseURL: base})
	var v contract.Violation
	if !errors.As(err, &v) || v.Rule != contract.RuleInputReserved {
		t.Errorf("errors.As(%v) = %+v", err, v)
	}
}

func TestTimeoutSeconds(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   time.Duration
		want int
	}{
		"zero":        {0, 60},
		"negative":    {-time.Second, 60},
		"sub-second":  {200 * time.Millisecond, 1},
		"exact":       {8 * time.Second, 8},
		"rounds up":   {8*time.Second + time.Nanosecond, 9},
		"at limit":    {60 * time.Second, 60},
		"above limit": {5 * time.Minute, 60},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := timeoutSeconds(tc.in); got != tc.want {
				t.Errorf("timeoutSeconds(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestAuthKind(t *testing.T) {
	t.Parallel()
	for _, k := range []AuthKind{AuthNone, AuthBasic, AuthAPIKey, AuthOAuth} {
		got, err := ParseAuthKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseAuthKind(%q) = %v, %v", k, got, err)
		}
	}
	if k, err := ParseAuthKind("api_key"); err != nil || k != AuthAPIKey {
		t.Errorf("ParseAuthKind(api_key) = %v, %v", k, err)
	}
	if _, err := ParseAuthKind("mtls"); err == nil {
		t.Error("ParseAuthKind(mtls) succeeded")
	}
}

func TestLabelAndPath(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ label, path string }{
		"fetchUserProfile":    {"fetchUserProfile", "fetchUserProfile"},
		"verify caller":       {"verify_caller", "verify%20caller"},
		"9lives":              {"_9lives", "9lives"},
		"a/b#c$d{e}":          {"a_b_c_d_e_", "a%2Fb%23c%24d%7Be%7D"},
		"${input.rawRequest}": {"__input_rawRequest_", "%24%7Binput.rawRequest%7D"},
	}
	for name, tc := range tests {
		if got := label(name); got != tc.label {
			t.Errorf("label(%q) = %q, want %q", name, got, tc.label)
		}
		if got := escapePath(name); got != tc.path {
			t.Errorf("escapePath(%q) = %q, want %q", name, got, tc.path)
		}
	}
}
