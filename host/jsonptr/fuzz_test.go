package jsonptr

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzPointer parses arbitrary pointers, resolves them in a document and
// sets them in a copy: nothing may panic, a parsed pointer prints back as
// it was given, and what Set wrote, Get finds.
func FuzzPointer(f *testing.F) {
	for _, s := range []string{"", "/", "/foo/0", "/a~1b", "/m~0n", "/~", "/~2", "/a/b/c", "/foo/-", "/foo/01", "/ /", "//"} {
		f.Add(s, rfcDoc)
	}
	f.Fuzz(func(t *testing.T, ptr, doc string) {
		p, err := Parse(ptr)
		if err != nil {
			return
		}
		if p.String() != ptr {
			t.Fatalf("Parse(%q).String() = %q", ptr, p.String())
		}
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		p.Get(v)
		obj, ok := v.(map[string]any)
		if !ok || p.IsRoot() {
			return
		}
		if err := p.Set(obj, "fuzz-value"); err == nil && p.Tokens()[len(p.Tokens())-1] != "-" {
			if got, ok := p.Get(obj); !ok || got != "fuzz-value" {
				t.Fatalf("after Set(%q), Get = %v, %v", ptr, got, ok)
			}
		}
	})
}
