package jsonpath

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/exports"
	"github.com/switchboard-dev/switchboard/host/internal/golden"
)

// exportResponse is the response configuration of a data action export.
type exportResponse struct {
	Config struct {
		Response struct {
			TranslationMap         map[string]string `json:"translationMap"`
			TranslationMapDefaults map[string]string `json:"translationMapDefaults"`
		} `json:"response"`
	} `json:"config"`
}

// TestExports evaluates every translation map path of the reference exports
// (../testdata/exports; three of the 18 have one) against sample responses
// (testdata/responses), applying translationMapDefaults when a path resolves
// nothing, and compares with testdata/golden.
func TestExports(t *testing.T) {
	t.Parallel()
	mapped := map[string]exportResponse{}
	for _, e := range exports.All(t) {
		var exp exportResponse
		e.Decode(t, &exp)
		if len(exp.Config.Response.TranslationMap) > 0 {
			mapped[e.Name] = exp
		}
	}
	if len(mapped) != 3 {
		t.Fatalf("found %d exports with a translation map, want 3", len(mapped))
	}
	for name, exp := range mapped {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := exp.Config.Response
			var cases map[string]json.RawMessage
			exports.DecodeFile(t, filepath.Join("testdata", "responses", name+".json"), &cases)

			type outcome struct {
				Found   bool   `json:"found"`
				Result  any    `json:"result,omitempty"`
				Default string `json:"defaultApplied,omitempty"`
			}
			outcomes := map[string]map[string]outcome{}
			for caseName, raw := range cases {
				doc := decodeJSON(t, raw)
				outcomes[caseName] = map[string]outcome{}
				for key, expr := range resp.TranslationMap {
					p, err := Compile(expr)
					if err != nil {
						t.Fatalf("translationMap[%q] = %q does not compile: %v", key, expr, err)
					}
					result, found, err := p.Eval(doc)
					if err != nil {
						t.Fatalf("%s: translationMap[%q]: %v", caseName, key, err)
					}
					o := outcome{Found: found, Result: result}
					if !found {
						o.Default = resp.TranslationMapDefaults[key]
					}
					outcomes[caseName][key] = o
				}
			}
			got, err := json.MarshalIndent(outcomes, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "golden", name+".json"), append(got, '\n'))
		})
	}
}

// TestReferencePaths pins the reference exports' paths explicitly.
func TestReferencePaths(t *testing.T) {
	t.Parallel()
	const (
		pstn     = "['participants'][?(@.purpose=='external')]['sessions'][?(@.direction=='outbound')].direction"
		statuses = "$.results[0].data..qualifier"
		counts   = "$.results[0].data..stats.count"
		contact  = "$.searchRecords"
	)
	tests := map[string]struct {
		path, doc string
		found     bool
		want      string
	}{
		"pstn outbound":         {pstn, `{"participants":[{"purpose":"customer"},{"purpose":"external","sessions":[{"direction":"inbound"},{"direction":"outbound"}]}]}`, true, `["outbound"]`},
		"pstn none":             {pstn, `{"participants":[{"purpose":"customer","sessions":[{"direction":"outbound"}]}]}`, true, `[]`},
		"pstn no participants":  {pstn, `{}`, false, ""},
		"statuses":              {statuses, `{"results":[{"data":[{"qualifier":"IDLE"},{"qualifier":"INTERACTING"}]}]}`, true, `["IDLE","INTERACTING"]`},
		"statuses without data": {statuses, `{"results":[{"group":{}}]}`, false, ""},
		"statuses no results":   {statuses, `{"results":[]}`, true, `[]`}, // Jayway skips an index out of range
		"counts":                {counts, `{"results":[{"data":[{"stats":{"count":4}},{"stats":{"count":1}}]}]}`, true, `[4,1]`},
		"counts empty data":     {counts, `{"results":[{"data":[]}]}`, true, `[]`},
		"contact":               {contact, `{"searchRecords":[{"Id":"1"}]}`, true, `[{"Id":"1"}]`},
		"contact missing":       {contact, `{"errorCode":"X"}`, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, found, err := MustCompile(tc.path).Eval(decodeJSON(t, []byte(tc.doc)))
			if err != nil || found != tc.found {
				t.Fatalf("Eval = %v, %v, %v; want found=%v", got, found, err, tc.found)
			}
			if found && mustJSON(t, got) != mustJSON(t, decodeJSON(t, []byte(tc.want))) {
				t.Errorf("Eval = %s, want %s", mustJSON(t, got), tc.want)
			}
		})
	}
}
