package jsonpath

import (
	"errors"
	"testing"
)

// FuzzCompileEval checks that compiling and evaluating arbitrary paths
// never panics or hangs, that failures are *SyntaxError or
// ErrFilterOnPrimitive, and that indefinite paths always yield a list.
// Seeds: testdata/fuzz plus the paths below.
func FuzzCompileEval(f *testing.F) {
	for _, seed := range []string{
		"$.store.book[*].author", "$..book[?(@.price <= $['expensive'])]", "$..book[-2:]",
		"['participants'][?(@.purpose=='external')]['sessions'][?(@.direction=='outbound')].direction",
		"$.results[0].data..stats.count", "$.searchRecords", "$..book.length()",
		"$.store.bicycle['color','price']", `$[?(!(@.a == "x" || @.b < -1.5e3))]`,
	} {
		f.Add(seed)
	}
	doc := storeDoc(f)
	f.Fuzz(func(t *testing.T, path string) {
		p, err := Compile(path)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %v is not a *SyntaxError", path, err)
			}
			return
		}
		got, found, err := p.Eval(doc)
		if err != nil {
			if !errors.Is(err, ErrFilterOnPrimitive) {
				t.Fatalf("Eval(%q) unexpected error %v", path, err)
			}
			return
		}
		if _, isList := got.([]any); found && !p.Definite() && !isList {
			t.Fatalf("Eval(%q) = %#v: an indefinite path must yield a list", path, got)
		}
	})
}
