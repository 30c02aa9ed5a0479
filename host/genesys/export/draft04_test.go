package export

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestToDraft04(t *testing.T) {
	t.Parallel()
	const head = `"$schema":"http://json-schema.org/draft-04/schema#","title":"T"`
	tests := map[string]struct {
		in, desc string
		want     string // compact JSON
		err      string
	}{
		"absent":       {in: ``, want: `{` + head + `,"type":"object","properties":{},"additionalProperties":true}`},
		"null":         {in: `null`, want: `{` + head + `,"type":"object","properties":{},"additionalProperties":true}`},
		"empty object": {in: `{}`, want: `{` + head + `,"type":"object","properties":{},"additionalProperties":true}`},
		"true":         {in: `true`, want: `{` + head + `,"type":"object","properties":{},"additionalProperties":true}`},
		"order kept, own title first": {
			in:   `{"type":"object","required":["a"],"title":"Mine","properties":{"a":{"type":"string"}},"$schema":"http://json-schema.org/draft-07/schema#"}`,
			want: `{"$schema":"http://json-schema.org/draft-04/schema#","title":"Mine","type":"object","required":["a"],"properties":{"a":{"type":"string"}}}`,
		},
		"description added": {
			in: `{"type":"object"}`, desc: "Does <things> & more",
			want: `{` + head + `,"description":"Does <things> & more","type":"object"}`,
		},
		"own description kept": {
			in: `{"description":"own","type":"object"}`, desc: "ignored",
			want: `{` + head + `,"description":"own","type":"object"}`,
		},
		"repeated key, last wins": {
			in:   `{"type":"string","type":"object"}`,
			want: `{` + head + `,"type":"object"}`,
		},
		"boolean subschemas": {
			in:   `{"properties":{"a":true,"b":false},"additionalProperties":false,"allOf":[true],"items":false,"additionalItems":true}`,
			want: `{` + head + `,"properties":{"a":{},"b":{"not":{}}},"additionalProperties":false,"allOf":[{}],"items":{"not":{}},"additionalItems":true}`,
		},
		"draft-04 bounds stay": {
			in:   `{"minimum":1,"exclusiveMinimum":true,"maximum":9}`,
			want: `{` + head + `,"minimum":1,"exclusiveMinimum":true,"maximum":9}`,
		},
		"numeric exclusive bounds": {
			in:   `{"exclusiveMaximum":10,"exclusiveMinimum":-1.5}`,
			want: `{` + head + `,"maximum":10,"exclusiveMaximum":true,"minimum":-1.5,"exclusiveMinimum":true}`,
		},
		"exclusive bound stricter": {
			in:   `{"minimum":1,"exclusiveMinimum":2,"exclusiveMaximum":100,"maximum":100}`,
			want: `{` + head + `,"minimum":2,"exclusiveMinimum":true,"maximum":100,"exclusiveMaximum":true}`,
		},
		"inclusive bound stricter": {
			in:   `{"exclusiveMinimum":0,"minimum":0.5,"maximum":3,"exclusiveMaximum":1e3}`,
			want: `{` + head + `,"minimum":0.5,"maximum":3}`,
		},
		"const": {
			in:   `{"properties":{"c":{"type":"integer","const":3}}}`,
			want: `{` + head + `,"properties":{"c":{"type":"integer","enum":[3]}}}`,
		},
		"prefixItems without items": {
			in:   `{"type":"array","prefixItems":[{"type":"string"}]}`,
			want: `{` + head + `,"type":"array","items":[{"type":"string"}]}`,
		},
		"draft-04 tuple stays": {
			in:   `{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}`,
			want: `{` + head + `,"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}`,
		},
		"dependencies merged": {
			in:   `{"dependencies":{"a":["b"]},"dependentSchemas":{"c":{"required":["d"]}},"dependentRequired":{"e":["f"]}}`,
			want: `{` + head + `,"dependencies":{"a":["b"],"e":["f"],"c":{"required":["d"]}}}`,
		},
		"annotations dropped, defs renamed, empty required dropped": {
			in:   `{"$id":"x","$comment":"c","examples":[1],"readOnly":true,"$defs":{"s":{"type":"string","deprecated":true}},"required":[],"format":"email","default":"a"}`,
			want: `{` + head + `,"definitions":{"s":{"type":"string"}},"format":"email","default":"a"}`,
		},
		"not a schema":      {in: `[]`, err: "input schema at the root: a schema must be a JSON object"},
		"false":             {in: `false`, err: "accepts nothing"},
		"bad subschema":     {in: `{"properties":{"a":3}}`, err: "input schema at /properties/a: a schema must be an object or a boolean"},
		"bad properties":    {in: `{"properties":[]}`, err: "/properties: want an object of schemas"},
		"bad allOf":         {in: `{"allOf":{}}`, err: "/allOf: want an array of schemas"},
		"ref":               {in: `{"items":{"$ref":"#"}}`, err: "/items/$ref: $ref"},
		"dynamic ref":       {in: `{"$dynamicRef":"#a"}`, err: "/$dynamicRef"},
		"unevaluated":       {in: `{"unevaluatedProperties":false}`, err: "unevaluatedProperties cannot be expressed"},
		"propertyNames":     {in: `{"propertyNames":{"pattern":"^a"}}`, err: "propertyNames cannot be expressed"},
		"bad exclusive":     {in: `{"exclusiveMinimum":"1"}`, err: "/exclusiveMinimum: exclusiveMinimum must be a number or a boolean"},
		"bad bound":         {in: `{"minimum":"1","exclusiveMinimum":0}`, err: "/minimum: minimum must be a number"},
		"dependency twice":  {in: `{"dependencies":{"a":["b"]},"dependentRequired":{"a":["c"]}}`, err: `dependencies of "a" given twice`},
		"bad required deps": {in: `{"dependentRequired":{"a":{}}}`, err: "want an array of property names"},
		"bad dependencies":  {in: `{"dependencies":[]}`, err: "/dependencies: want an object"},
		"two json values":   {in: `{} {}`, err: "more than one JSON value"},
		"truncated":         {in: `{"a":[`, err: "input schema"},
		"escaped pointer":   {in: `{"properties":{"a/b":{"if":{}}}}`, err: "/properties/a~1b/if"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := toDraft04(json.RawMessage(tc.in), "input", "T", tc.desc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("toDraft04 = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestWithErrorFields(t *testing.T) {
	t.Parallel()
	in := object{{"type", "object"}, {"required", []any{"id"}}, {"properties", object{{"id", object{{"type", "string"}}}}}}
	out, err := withErrorFields(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := marshal(out)
	const want = `{"type":"object","required":["ok"],"properties":{"id":{"type":"string"},` +
		`"ok":{"type":"boolean","description":"true when the action succeeded; false when it failed, and status, code, message and retryable say why"},` +
		`"status":{"type":"integer","description":"HTTP status of the failure"},` +
		`"code":{"type":"string","description":"machine-readable error code, such as action_not_found"},` +
		`"message":{"type":"string","description":"human-readable description of the failure"},` +
		`"retryable":{"type":"boolean","description":"whether running the action again may succeed"}}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if b, _ := marshal(in); string(b) != `{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}` {
		t.Errorf("the input was modified: %s", b)
	}
}
