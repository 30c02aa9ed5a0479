package emulator

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/exports"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		def  string // raw JSON; empty: spec.json
		spec spec
		err  error  // errors.Is
		want string // in the error message
	}{
		"not json":               {def: `{"name":`, want: "parse data action"},
		"two values":             {def: `{} {}`, want: "more than one JSON value"},
		"no integration type":    {def: `{"name":"x"}`, err: ErrUnsupported},
		"genesys data action":    {def: `{"name":"x","integrationType":"purecloud-data-actions","actionType":"custom"}`, err: ErrUnsupported},
		"bad action type":        {spec: spec{actionType: "other"}, want: `actionType "other"`},
		"bad request type":       {spec: spec{method: "get"}, want: `requestType "get"`},
		"no url":                 {def: `{"name":"x","integrationType":"custom-rest-actions","actionType":"custom","config":{"request":{"requestType":"GET"}}}`, want: "requestUrlTemplate is empty"},
		"bad url template":       {spec: spec{url: "https://x/#if($a)"}, want: "requestUrlTemplate"},
		"bad header template":    {spec: spec{headers: map[string]string{"X-A": "#foreach($a in $b)"}}, want: "header X-A"},
		"bad header name":        {spec: spec{headers: map[string]string{"X A": "v"}}, want: `header "X A"`},
		"headers differ in case": {spec: spec{headers: map[string]string{"X-A": "1", "x-a": "2"}}, want: "differ only in case"},
		"bad body template":      {spec: spec{body: ptr("#end")}, want: "requestTemplate"},
		"bad jsonpath":           {spec: spec{translationMap: map[string]string{"a": "$.[?(@.x =~ /y/)]"}}, want: `translationMap "a"`},
		"bad success template":   {spec: spec{success: ptr("#macro(x)#end")}, want: "successTemplate"},
		"timeout 0":              {spec: spec{timeout: 0}, want: "timeoutSeconds"},
		"timeout 61":             {spec: spec{timeout: 61}, want: "timeoutSeconds"},
		"timeout 1.5":            {spec: spec{timeout: 1.5}, want: "timeoutSeconds"},
		"bad input schema":       {spec: spec{input: []byte(`{"type":"objekt"}`)}, want: "contract.input.inputSchema"},
		"bad output schema":      {spec: spec{output: []byte(`{"required":"a"}`)}, want: "contract.output.successSchema"},
		"external ref":           {spec: spec{output: []byte(`{"$ref":"https://example.com/s.json"}`)}, want: "refusing to load"},
		"several problems": {
			spec: spec{method: "GETS", success: ptr("#end")},
			want: "requestType \"GETS\": want GET, PUT, POST, PATCH or DELETE\nsuccessTemplate",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			def := []byte(tc.def)
			if tc.def == "" {
				def = tc.spec.json(t)
			}
			a, err := Parse(def)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", a)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("Parse error %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	a, err := Parse([]byte(`{"name":"min","integrationType":"custom-rest-actions","actionType":"custom",
		"config":{"request":{"requestUrlTemplate":"https://x.example/","requestType":"POST"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Timeout != DefaultTimeout || a.body.Name() != "requestTemplate" || a.RequestType != http.MethodPost || a.Secure {
		t.Errorf("defaults: %+v", a)
	}
	timed := spec{timeout: 8, actionType: CustomAuth}.parse(t)
	if timed.Timeout != 8*time.Second || timed.ActionType != CustomAuth {
		t.Errorf("timeout %v, action type %q", timed.Timeout, timed.ActionType)
	}
}

// TestParseExports parses every custom-rest-actions reference export and
// checks the fields Parse exposes.
func TestParseExports(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		name, actionType, requestType string
	}{
		"GenesysCloudBlueprints__update-ms-teams-user-presence-blueprint__Office-365-Auth.customAuth": {"Office 365 (Auth)", CustomAuth, "POST"},
		"GenesysCloudBlueprints__wfm-hris-blueprint__Bamboo-Put-TimeOff-Request.custom":               {"Bamboo-Put-TimeOff-Request", Custom, "PUT"},
		"GenesysCloudBlueprints__wfm-hris-blueprint__Bamboo-Get-Agents.custom":                        {"Bamboo-Get-Agents - Exported 2022-08-01 @ 17:43", Custom, "GET"},
	}
	for file, tc := range tests {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			a := parseExport(t, exports.Read(t, file))
			if a.Name != tc.name || a.ActionType != tc.actionType || a.RequestType != tc.requestType || a.Timeout != DefaultTimeout {
				t.Errorf("got %q %q %q %v", a.Name, a.ActionType, a.RequestType, a.Timeout)
			}
		})
	}
}
