package registry

import (
	"strings"
	"testing"
)

func TestRecursiveSchemasAreRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		schema string
		want   string // "" for accepted
	}{
		"no refs":             {`{"type":"object","properties":{"a":{"type":"string"}}}`, ""},
		"ref to a definition": {`{"type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}`, ""},
		"shared definition":   {`{"properties":{"a":{"$ref":"#/definitions/s"},"b":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}`, ""},
		"chain":               {`{"$ref":"#/definitions/a","definitions":{"a":{"$ref":"#/definitions/b"},"b":{"type":"object"}}}`, ""},
		"to the root":         {`{"type":"object","properties":{"child":{"$ref":"#"}}}`, `$ref "#" at /properties/child`},
		"to itself":           {`{"$ref":"#/definitions/n","definitions":{"n":{"anyOf":[{"type":"null"},{"properties":{"next":{"$ref":"#/definitions/n"}}}]}}}`, "refers to itself"},
		"through two":         {`{"$ref":"#/definitions/a","definitions":{"a":{"properties":{"b":{"$ref":"#/definitions/b"}}},"b":{"anyOf":[{"$ref":"#/definitions/a"}]}}}`, "refers to itself"},
		"to an ancestor":      {`{"properties":{"x":{"properties":{"y":{"$ref":"#/properties/x"}}}}}`, "refers to itself"},
		"remote":              {`{"$ref":"https://example.com/s.json"}`, "only local JSON pointers"},
		"anchor":              {`{"$ref":"#node"}`, "only local JSON pointers"},
	}
	for name, tc := range tests {
		err := noRecursion([]byte(tc.schema))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error holding %q", name, err, tc.want)
		}
	}
}

// TestRecursiveSchemaRefusesTheAction: the check is in compiling, which
// every action goes through, whatever contract_checks lets pass.
func TestRecursiveSchemaRefusesTheAction(t *testing.T) {
	t.Parallel()
	deep := `{"$ref":"#/definitions/n","definitions":{"n":{"type":"object","properties":{"a":{"anyOf":[{"$ref":"#/definitions/n"},{"$ref":"#/definitions/n"}]}}}}}`
	_, err := NewAction(Description{Name: "deep", InputSchema: []byte(deep)}, Plugin{Name: "p"}, nil, Overrides{}, Options{})
	if err == nil || !strings.Contains(err.Error(), `action "deep" of plugin "p": input schema: it refers to itself`) {
		t.Errorf("New: %v", err)
	}
}
