package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rl is a violation reduced to what tests compare: schema, location, rule.
type rl struct{ schema, loc, rule string }

func reduce(vs []Violation) []rl {
	out := make([]rl, len(vs))
	for i, v := range vs {
		out[i] = rl{v.Schema, v.Location, v.Rule}
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		input, output string
		want          []rl
	}{
		"nil":          {},
		"null":         {input: "null", output: " null "},
		"empty object": {input: "{}", output: "{}"},
		"reference style": {
			input:  `{"type":"object","required":["queueId"],"properties":{"queueId":{"type":"string"}},"additionalProperties":true}`,
			output: `{"type":"object","properties":{"counts":{"type":"array","items":{"type":"integer"}}}}`,
		},
		"nullable and multi-typed inputs": {
			input: `{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"type":["integer","number","boolean"]},"c-d_e9":{"type":"null"}}}`,
		},
		"not json": {
			input: `{"type":`,
			want:  []rl{{"input", "", RuleJSON}},
		},
		"two values": {
			output: `{} {}`,
			want:   []rl{{"output", "", RuleJSON}},
		},
		"array root": {
			input: `[]`,
			want:  []rl{{"input", "", RuleJSON}},
		},
		"input root not an object": {
			input: `{"type":"string"}`,
			want:  []rl{{"input", "", RuleInputObject}},
		},
		"input root without type": {
			input: `{"properties":{"a":{"type":"string"}}}`,
			want:  []rl{{"input", "", RuleInputObject}},
		},
		"nested object input": {
			input: `{"type":"object","properties":{"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`,
			want:  []rl{{"input", "/properties/address", RuleInputFlat}},
		},
		"array input": {
			input: `{"type":"object","properties":{"ids":{"type":["array","null"]}}}`,
			want:  []rl{{"input", "/properties/ids", RuleInputFlat}},
		},
		"untyped input": {
			input: `{"type":"object","properties":{"x":{"description":"anything"}}}`,
			want:  []rl{{"input", "/properties/x", RuleInputFlat}},
		},
		"boolean property schema": {
			input: `{"type":"object","properties":{"x":true}}`,
			want:  []rl{{"input", "/properties/x", RuleInputFlat}},
		},
		"object additionalProperties": {
			input: `{"type":"object","additionalProperties":{"type":"object"},"patternProperties":{"^x":{"type":"array"}}}`,
			want: []rl{
				{"input", "/patternProperties/^x", RuleInputFlat},
				{"input", "/additionalProperties", RuleInputFlat},
			},
		},
		"allOf properties": {
			input: `{"type":"object","allOf":[{"properties":{"orgId":{"type":"string"}}}]}`,
			want:  []rl{{"input", "/allOf/0/properties/orgId", RuleInputReserved}},
		},
		"bad names": {
			input: `{"type":"object","properties":{"1st":{"type":"string"},"_x":{"type":"string"},"a b":{"type":"string"},"é":{"type":"string"},"":{"type":"string"},"ok-Name_2":{"type":"string"}}}`,
			want: []rl{
				{"input", "/properties/", RuleInputName},
				{"input", "/properties/1st", RuleInputName},
				{"input", "/properties/_x", RuleInputName},
				{"input", "/properties/a b", RuleInputName},
				{"input", "/properties/é", RuleInputName},
			},
		},
		"reserved names": {
			input: `{"type":"object","properties":{"orgId":{"type":"string"},"integrationId":{"type":"string"},"rawRequest":{"type":"string"},"OrgId":{"type":"string"}}}`,
			want: []rl{
				{"input", "/properties/integrationId", RuleInputReserved},
				{"input", "/properties/orgId", RuleInputReserved},
				{"input", "/properties/rawRequest", RuleInputReserved},
			},
		},
		"ref in input and output": {
			input:  `{"type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}`,
			output: `{"$defs":{"x":{"$dynamicRef":"#x"}},"type":"object"}`,
			want: []rl{
				{"input", "/properties/a/$ref", RuleNoRef},
				{"input", "/properties/a", RuleInputFlat},
				{"output", "/$defs/x/$dynamicRef", RuleNoRef},
			},
		},
		"escaped pointer": {
			input: `{"type":"object","properties":{"a/b~c":{"type":"object"}}}`,
			want: []rl{
				{"input", "/properties/a~1b~0c", RuleInputName},
				{"input", "/properties/a~1b~0c", RuleInputFlat},
			},
		},
		"nested array root": {
			output: `{"type":"array","items":{"type":"array","items":{"type":"string"}}}`,
			want:   []rl{{"output", "/items", RuleOutputNestedArray}},
		},
		"deep nested array": {
			output: `{"type":"object","properties":{"a":{"type":"object","properties":{"m":{"type":["array","null"],"items":{"type":["null","array"]}}}}}}`,
			want:   []rl{{"output", "/properties/a/properties/m/items", RuleOutputNestedArray}},
		},
		"tuple nested array": {
			output: `{"type":"object","properties":{"t":{"type":"array","items":[{"type":"string"},{"type":"array"}],"additionalItems":{"type":"array"}}}}`,
			want: []rl{
				{"output", "/properties/t/items/1", RuleOutputNestedArray},
				{"output", "/properties/t/additionalItems", RuleOutputNestedArray},
			},
		},
		"prefixItems nested array inside anyOf": {
			output: `{"anyOf":[{"type":"array","prefixItems":[{"type":"array"}]}]}`,
			want:   []rl{{"output", "/anyOf/0/prefixItems/0", RuleOutputNestedArray}},
		},
		"array of objects holding arrays is fine": {
			output: `{"type":"array","items":{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}}}}`,
		},
		"depth 50 passes": {output: nest(50)},
		"depth 51 fails": {
			output: nest(51),
			want:   []rl{{"output", strings.Repeat("/a", 50), RuleMaxDepth}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := reduce(Check(json.RawMessage(tc.input), json.RawMessage(tc.output)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Check =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

// nest returns a schema document nesting depth objects.
func nest(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
}

func TestMessages(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		input, output string
		want          string
	}{
		"flat": {
			input: `{"type":"object","properties":{"address":{"type":"object"}}}`,
			want:  `input schema: property "address" at /properties/address is an object; Genesys Cloud inputs are flat objects of string, integer, number, boolean or null (rule input-flat)`,
		},
		"two bad types": {
			input: `{"type":"object","properties":{"x":{"type":["object","array","string"]}}}`,
			want:  `input schema: property "x" at /properties/x is an object or an array; Genesys Cloud inputs are flat objects of string, integer, number, boolean or null (rule input-flat)`,
		},
		"reserved": {
			input: `{"type":"object","properties":{"rawRequest":{"type":"string"}}}`,
			want:  `input schema: property "rawRequest" at /properties/rawRequest is reserved; Genesys Cloud sets orgId, integrationId and rawRequest itself and an input of that name breaks the action (rule input-reserved)`,
		},
		"root": {
			input: `{"type":["object","null"]}`,
			want:  `input schema: the root must be {"type": "object"}, it is of type ["object","null"]; Genesys Cloud inputs are objects (rule input-object)`,
		},
		"nested array": {
			output: `{"type":"array","items":{"type":"array"}}`,
			want:   `output schema: the array at the root holds arrays (items at /items); Genesys Cloud outputs may not nest arrays (rule output-nested-array)`,
		},
		"ref": {
			output: `{"$ref":"http://example.com/s.json"}`,
			want:   `output schema: $ref at /$ref: Genesys Cloud contracts do not support references; inline the referenced schema (rule no-ref)`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vs := Check(json.RawMessage(tc.input), json.RawMessage(tc.output))
			if len(vs) != 1 {
				t.Fatalf("got %d violations, want 1: %v", len(vs), vs)
			}
			if vs[0].Message != tc.want || vs[0].Error() != tc.want {
				t.Errorf("message\n%s\nwant\n%s", vs[0].Message, tc.want)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	if err := Join(nil); err != nil {
		t.Errorf("Join(nil) = %v", err)
	}
	vs := Check(json.RawMessage(`{"type":"object","properties":{"orgId":{"type":"object"}}}`), nil)
	err := Join(vs)
	var v Violation
	if !errors.As(err, &v) || v.Rule != RuleInputReserved {
		t.Errorf("errors.As(Join) = %v, %+v", err, v)
	}
	if got := strings.Count(err.Error(), "\n"); got != len(vs)-1 {
		t.Errorf("Join has %d lines, want %d", got+1, len(vs))
	}
}

func TestReserved(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"orgId": true, "integrationId": true, "rawRequest": true, "orgid": false, "": false, "input": false} {
		if got := Reserved(name); got != want {
			t.Errorf("Reserved(%q) = %v", name, got)
		}
	}
}

// TestExports checks the contracts of the 18 reference exports
// (host/genesys/testdata/exports): all of them obey every rule and compile.
func TestExports(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("..", "..", "host", "genesys", "testdata", "exports", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 18 {
		t.Fatalf("found %d exports, want 18", len(paths))
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var exp struct {
				Contract struct {
					Input struct {
						InputSchema json.RawMessage `json:"inputSchema"`
					} `json:"input"`
					Output struct {
						SuccessSchema json.RawMessage `json:"successSchema"`
					} `json:"output"`
				} `json:"contract"`
			}
			if err := json.Unmarshal(data, &exp); err != nil {
				t.Fatal(err)
			}
			in, out := exp.Contract.Input.InputSchema, exp.Contract.Output.SuccessSchema
			if vs := Check(in, out); len(vs) > 0 {
				t.Errorf("violations:\n%v", Join(vs))
			}
			for which, doc := range map[string]json.RawMessage{"input": in, "output": out} {
				if _, err := Compile(doc); err != nil {
					t.Errorf("%s schema does not compile: %v", which, err)
				}
			}
		})
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		schema, doc string
		compileErr  bool
		problems    []string
	}{
		"absent accepts anything":   {schema: "", doc: `[1]`},
		"draft-04 by default":       {schema: `{"type":"object","properties":{"n":{"type":"number","minimum":1,"exclusiveMinimum":true}}}`, doc: `{"n":1}`, problems: []string{"/n: must be > 1 but found 1"}},
		"explicit draft-04":         {schema: `{"$schema":"http://json-schema.org/draft-04/schema#","required":["a"]}`, doc: `{}`, problems: []string{"/: missing properties: 'a'"}},
		"external ref refused":      {schema: `{"$ref":"https://example.com/s.json"}`, compileErr: true},
		"file ref refused":          {schema: `{"$ref":"file:///etc/passwd"}`, compileErr: true},
		"invalid draft-04 schema":   {schema: `{"type":"objekt"}`, compileErr: true},
		"internal ref still works":  {schema: `{"definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s"}}}`, doc: `{"a":1}`, problems: []string{"/a: expected string, but got number"}},
		"several problems reported": {schema: `{"properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`, doc: `{"a":1,"b":"x"}`, problems: []string{"/a: expected string, but got number", "/b: expected integer, but got string"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile(json.RawMessage(tc.schema))
			if tc.compileErr {
				if err == nil {
					t.Fatal("Compile succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
				t.Fatal(err)
			}
			err = s.Validate(v)
			var got []string
			if err != nil {
				got = Problems(err)
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.problems) {
				t.Errorf("Problems = %q, want %q", got, tc.problems)
			}
		})
	}
}

func TestProblemsOtherError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", errors.New("boom"))
	if got := Describe(err); got != "wrapped: boom" {
		t.Errorf("Describe = %q", got)
	}
}
