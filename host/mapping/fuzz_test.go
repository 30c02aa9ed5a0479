package mapping

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzApply compiles arbitrary rules and applies them to arbitrary request
// bodies: nothing may panic, and what Apply builds is always JSON.
func FuzzApply(f *testing.F) {
	f.Add("/userId", "/data/userId", "", `{"userId":"u-1"}`)
	f.Add("/a/b", "/data/x/0", `"def"`, `{"x":[1,2]}`)
	f.Add("/m~0n", "/metadata/organizationId", `{"k":[]}`, `{}`)
	f.Add("/id", "/requestId", "", `[]`)
	f.Add("/x", "", "", `{"a":{"b":null}}`)
	f.Fuzz(func(t *testing.T, target, source, def, body string) {
		r := Rule{Target: target, Source: source}
		if def != "" {
			r.Default = json.RawMessage(def)
		}
		m, err := Compile([]Rule{r, {Target: target + "/extra", Source: "/action"}})
		if err != nil {
			return
		}
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		var data any
		if d.Decode(&data) != nil {
			return
		}
		in, err := m.Apply(&Document{Data: data, RequestID: "r-1", Action: "a", Metadata: map[string]string{"organizationId": "o"}})
		if err != nil {
			return
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("the mapped input does not encode: %v", err)
		}
	})
}
