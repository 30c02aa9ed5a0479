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
	})
}
