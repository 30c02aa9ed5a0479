package jsonptr

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// rfcDoc is the document of RFC 6901 section 5.
const rfcDoc = `{
	"foo": ["bar", "baz"],
	"": 0,
	"a/b": 1,
	"c%d": 2,
	"e^f": 3,
	"g|h": 4,
	"i\\j": 5,
	"k\"l": 6,
	" ": 7,
	"m~n": 8
}`

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGetRFC6901(t *testing.T) {
	t.Parallel()
	doc := decode(t, rfcDoc)
	tests := map[string]struct {
		pointer string
		want    string // JSON
	}{
		"whole document": {"", rfcDoc},
		"member":         {"/foo", `["bar","baz"]`},
		"array index":    {"/foo/0", `"bar"`},
		"empty key":      {"/", `0`},
		"escaped slash":  {"/a~1b", `1`},
		"percent":        {"/c%d", `2`},
		"caret":          {"/e^f", `3`},
		"pipe":           {"/g|h", `4`},
		"backslash":      {"/i\\j", `5`},
		"quote":          {"/k\"l", `6`},
		"space":          {"/ ", `7`},
		"escaped tilde":  {"/m~0n", `8`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.pointer)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.pointer, err)
			}
			got, ok := p.Get(doc)
			if !ok {
				t.Fatalf("Get(%q): not found", tc.pointer)
			}
			if want := decode(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Get(%q) = %v, want %v", tc.pointer, got, want)
			}
			if p.String() != tc.pointer {
				t.Errorf("String() = %q, want %q", p.String(), tc.pointer)
			}
		})
	}
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	doc := decode(t, `{"a": {"b": [1, 2, {"c": null}]}, "s": "text"}`)
	tests := map[string]string{
		"absent member":        "/x",
		"below a string":       "/s/0",
		"index past the end":   "/a/b/3",
		"dash index":           "/a/b/-",
		"leading zero index":   "/a/b/01",
		"negative index":       "/a/b/-1",
		"non-numeric index":    "/a/b/x",
		"empty index":          "/a/b/",
		"member of a number":   "/a/b/0/c",
		"member below null":    "/a/b/2/c/d",
		"nil document lookups": "/a/z",
	}
	for name, ptr := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if v, ok := MustParse(ptr).Get(doc); ok {
				t.Errorf("Get(%q) = %v, want not found", ptr, v)
			}
		})
	}
	if v, ok := MustParse("/a/b/2/c").Get(doc); !ok || v != nil {
		t.Errorf("a null value must be found: got %v, %v", v, ok)
	}
	if _, ok := MustParse("/a").Get(nil); ok {
		t.Error("Get on a nil document found something")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"no leading slash": "foo",
		"bare tilde":       "/a~",
		"tilde two":        "/a~2b",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(in); err == nil {
				t.Errorf("Parse(%q) succeeded", in)
			}
		})
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		start   string
		pointer string
		value   any
		want    string
		wantErr string
	}{
		"top level":               {`{}`, "/a", "x", `{"a":"x"}`, ""},
		"nested objects created":  {`{}`, "/a/b/c", "x", `{"a":{"b":{"c":"x"}}}`, ""},
		"into existing object":    {`{"a":{"k":1}}`, "/a/b", "x", `{"a":{"b":"x","k":1}}`, ""},
		"replace":                 {`{"a":1}`, "/a", "x", `{"a":"x"}`, ""},
		"escaped tokens":          {`{}`, "/a~1b/m~0n", "x", `{"a/b":{"m~n":"x"}}`, ""},
		"array index":             {`{"a":[1,2]}`, "/a/1", "x", `{"a":[1,"x"]}`, ""},
		"append":                  {`{"a":[1]}`, "/a/-", "x", `{"a":[1,"x"]}`, ""},
		"into array element":      {`{"a":[{}]}`, "/a/0/b", "x", `{"a":[{"b":"x"}]}`, ""},
		"null replaced by object": {`{"a":null}`, "/a/b", "x", `{"a":{"b":"x"}}`, ""},
		"below a string":          {`{"a":"s"}`, "/a/b", "x", "", `the value at "/a" is a string`},
		"index out of range":      {`{"a":[]}`, "/a/0", "x", "", `"0" is not an index of the array at "/a"`},
		"root":                    {`{}`, "", "x", "", "whole document"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := decode(t, tc.start).(map[string]any)
			err := MustParse(tc.pointer).Set(root, tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Set(%q) error = %v, want one containing %q", tc.pointer, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q): %v", tc.pointer, err)
			}
			got, _ := json.Marshal(root)
			if string(got) != tc.want {
				t.Errorf("after Set(%q): %s, want %s", tc.pointer, got, tc.want)
			}
		})
	}
}
