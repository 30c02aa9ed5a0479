package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeObject feeds arbitrary bodies to the decoder every request goes
// through: it never panics, accepts only one JSON object within the depth
// limit, and what it accepts is valid JSON that decodes the same again.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{"message":"hi"}`, `{}`, `[]`, `"x"`, `{"a":1}{}`, `{"a":`, "{\"a\":\"\xff\"}",
		`{"n":12345678901234567890123456789}`, `{"n":1e400}`, `{"s":"\u0000\"}\\"}`,
		`{"userId":"a","USERID":"b"}`, `{"a":1,"a":2}`, `{"k":1,"\u212a":2}`, `{"ms":1e1000001}`, `{"x":{"Ab":1,"aB":2}}`,
		strings.Repeat(`{"a":`, 60) + `1` + strings.Repeat(`}`, 60), `{"a":"[[[[["}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := DecodeObject(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if depth(b) > MaxDepth {
			t.Fatalf("accepted a document deeper than %d", MaxDepth)
		}
		again, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		obj2, err := DecodeObject(again)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if again2, _ := json.Marshal(obj2); !bytes.Equal(again, again2) {
			t.Fatalf("decode/encode is not stable: %s vs %s", again, again2)
		}
		walk(t, b, obj)
	})
}

// walk checks what DecodeObject promises of a value it accepted: no two
// keys of an object equal under case folding, numbers within the limits.
func walk(t *testing.T, b []byte, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k, e := range v {
			for _, other := range keys {
				if strings.EqualFold(k, other) {
					t.Fatalf("accepted %q with keys %q and %q", b, k, other)
				}
			}
			keys = append(keys, k)
			walk(t, b, e)
		}
	case []any:
		for _, e := range v {
			walk(t, b, e)
		}
	case json.Number:
		if checkNumber(string(v)) != nil {
			t.Fatalf("accepted %q with the number %s", b, v)
		}
	}
}
