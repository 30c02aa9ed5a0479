package velocity

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/exports"
)

// FuzzParseRender checks that parsing and rendering arbitrary input never
// panics or hangs, that every parse failure is a *SyntaxError, and that
// text without $, # or \ renders as itself. Seeds: testdata/fuzz plus every
// template of the reference exports.
func FuzzParseRender(f *testing.F) {
	for _, e := range exports.All(f) {
		var exp export
		e.Decode(f, &exp)
		req := exp.Config.Request
		f.Add(req.RequestURLTemplate)
		f.Add(req.RequestTemplate)
		f.Add(exp.Config.Response.SuccessTemplate)
		for _, h := range req.Headers {
			f.Add(h)
		}
	}
	vars := testVars()
	vars["rawResult"] = `{"a":[1,2]}`
	vars["counts"] = json.Number("3")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse("fuzz", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", src, err)
			}
			return
		}
		out, err := tmpl.Render(vars)
		if err == nil && !strings.ContainsAny(src, `$#\`) && out != src {
			t.Fatalf("Render(%q) = %q, want the text unchanged", src, out)
		}
	})
}
