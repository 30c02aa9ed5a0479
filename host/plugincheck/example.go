package plugincheck

import (
	"encoding/json"
)

// Example is an input an action's schema accepts, as far as a check can
// tell without knowing the action: each required property with a value of
// its type (its enum's first, its default, or a plain one: "example", 1,
// true). Genesys Cloud's input contracts are flat objects, so that is most.
func Example(schema json.RawMessage) []byte {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	in := map[string]any{}
	if json.Unmarshal(schema, &s) == nil {
		for _, name := range s.Required {
			in[name] = exampleValue(s.Properties[name])
		}
	}
	b, _ := json.Marshal(in)
	return b
}

func exampleValue(schema json.RawMessage) any {
	var p struct {
		Type    any    `json:"type"`
		Enum    []any  `json:"enum"`
		Default any    `json:"default"`
		Format  string `json:"format"`
	}
	if json.Unmarshal(schema, &p) != nil {
		return "example"
	}
	switch {
	case len(p.Enum) > 0:
		return p.Enum[0]
	case p.Default != nil:
		return p.Default
	}
	t, _ := p.Type.(string)
	if ts, ok := p.Type.([]any); ok && len(ts) > 0 {
		t, _ = ts[0].(string)
	}
	switch t {
	case "integer", "number":
		return 1
	case "boolean":
		return true
	case "null":
		return nil
	case "object":
		return map[string]any{}
	case "array":
		return []any{}
	}
	switch p.Format {
	case "date-time":
		return "2026-01-01T00:00:00Z"
	case "date":
		return "2026-01-01"
	case "email":
		return "someone@example.com"
	case "uuid":
		return "00000000-0000-4000-8000-000000000000"
	case "uri":
		return "https://example.com/"
	}
	return "example"
}
