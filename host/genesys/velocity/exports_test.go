package velocity

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/exports"
	"github.com/switchboard-dev/switchboard/host/internal/golden"
)

// export is the part of a Genesys Cloud data action export holding templates.
type export struct {
	Config struct {
		Request struct {
			RequestURLTemplate string            `json:"requestUrlTemplate"`
			Headers            map[string]string `json:"headers"`
			RequestTemplate    string            `json:"requestTemplate"`
		} `json:"request"`
		Response struct {
			SuccessTemplate string `json:"successTemplate"`
		} `json:"response"`
	} `json:"config"`
}

// sample is a plausible context for one export (testdata/vars/NAME.json).
type sample struct {
	Input        map[string]any    `json:"input"`
	Credentials  map[string]any    `json:"credentials"`
	AuthResponse map[string]any    `json:"authResponse"`
	RawResult    *string           `json:"rawResult"`
	Translations map[string]string `json:"translations"` // translation map results, as JSON text
}

// vars builds the context the emulator would: rawRequest is the input
// encoded as JSON, translation map results are top-level names.
func (s sample) vars(t *testing.T) map[string]any {
	t.Helper()
	raw, err := json.Marshal(s.Input)
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]any{"rawRequest": string(raw)}
	for k, v := range s.Input {
		input[k] = v
	}
	vars := map[string]any{"input": input, "credentials": s.Credentials, "authResponse": s.AuthResponse}
	if s.RawResult != nil {
		vars["rawResult"] = *s.RawResult
	}
	for k, v := range s.Translations {
		vars[k] = v
	}
	return vars
}

// TestExports parses every template of the 18 reference exports and renders
// each with a plausible sample, comparing with testdata/golden.
func TestExports(t *testing.T) {
	t.Parallel()
	for _, e := range exports.All(t) {
		name := e.Name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var exp export
			e.Decode(t, &exp)
			var s sample
			exports.DecodeFile(t, filepath.Join("testdata", "vars", name+".json"), &s)
			vars := s.vars(t)

			req := exp.Config.Request
			type field struct{ label, src string }
			fields := []field{{"requestUrlTemplate", req.RequestURLTemplate}}
			for _, h := range slices.Sorted(maps.Keys(req.Headers)) {
				fields = append(fields, field{"header " + h, req.Headers[h]})
			}
			fields = append(fields,
				field{"requestTemplate", req.RequestTemplate},
				field{"successTemplate", exp.Config.Response.SuccessTemplate})

			var rendered strings.Builder
			for _, f := range fields {
				tmpl, err := Parse(name+" "+f.label, f.src)
				if err != nil {
					t.Fatalf("%s does not parse: %v", f.label, err)
				}
				out, err := tmpl.Render(vars)
				if err != nil {
					t.Fatalf("%s does not render: %v", f.label, err)
				}
				if f.label == "successTemplate" || f.label == "requestTemplate" && isJSONBody(req.Headers, f.src) {
					if !json.Valid([]byte(out)) {
						t.Errorf("%s renders invalid JSON: %s", f.label, out)
					}
				}
				rendered.WriteString("=== " + f.label + "\n" + out + "\n")
			}
			golden.Check(t, filepath.Join("testdata", "golden", name+".golden"), []byte(rendered.String()))
		})
	}
}

// isJSONBody reports whether a request template should render JSON.
func isJSONBody(headers map[string]string, src string) bool {
	if src == "${input.rawRequest}" {
		return true
	}
	for k, v := range headers {
		if strings.EqualFold(k, "content-type") {
			return strings.Contains(strings.ToLower(v), "json")
		}
	}
	return false
}
