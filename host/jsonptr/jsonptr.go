package jsonptr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Pointer is a parsed JSON pointer. The zero value is the empty pointer "",
// which refers to the whole document.
type Pointer struct {
	text   string
	tokens []string
}

// Parse parses an RFC 6901 pointer in its JSON string form: "" or a sequence
// of "/"-prefixed reference tokens, where "~0" stands for "~" and "~1" for "/".
func Parse(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if s[0] != '/' {
		return Pointer{}, fmt.Errorf("JSON pointer %q: must be empty or start with '/'", s)
	}
	raw := strings.Split(s[1:], "/")
	tokens := make([]string, len(raw))
	for i, t := range raw {
		u, err := unescape(t)
		if err != nil {
			return Pointer{}, fmt.Errorf("JSON pointer %q: %w", s, err)
		}
		tokens[i] = u
	}
	return Pointer{text: s, tokens: tokens}, nil
}

// MustParse is Parse for pointers written in code; it panics on a bad one.
func MustParse(s string) Pointer {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

func unescape(t string) (string, error) {
	if !strings.Contains(t, "~") {
		return t, nil
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] != '~' {
			b.WriteByte(t[i])
			continue
		}
		if i+1 == len(t) || (t[i+1] != '0' && t[i+1] != '1') {
			return "", fmt.Errorf("'~' at offset %d must be followed by '0' or '1'", i)
		}
		if t[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), nil
}

// String returns the pointer in its JSON string form.
func (p Pointer) String() string { return p.text }

// Tokens returns the unescaped reference tokens. The caller must not change
// the slice.
func (p Pointer) Tokens() []string { return p.tokens }

// IsRoot reports whether p is the empty pointer, the whole document.
func (p Pointer) IsRoot() bool { return len(p.tokens) == 0 }

// Get returns the value p refers to in doc, and whether there is one.
func (p Pointer) Get(doc any) (any, bool) {
	return get(doc, p.tokens)
}

// GetTokens is Get for a pointer already split into unescaped tokens.
func GetTokens(doc any, tokens []string) (any, bool) {
	return get(doc, tokens)
}

func get(cur any, tokens []string) (any, bool) {
	for _, t := range tokens {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[t]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, ok := index(t, len(v))
			if !ok {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// index parses an array index token: "0" or digits without a leading zero,
// within bounds. "-" (the element after the last) never refers to a value.
func index(t string, n int) (int, bool) {
	if t == "" || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(t)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}

// ErrRoot is returned by Set for the empty pointer: the root is not set in
// place, it is replaced by the caller.
var ErrRoot = errors.New("the empty JSON pointer refers to the whole document")

// Set sets the value p refers to in the object root, creating the objects
// on the way that do not exist yet. An array on the way is indexed by
// number; "-" as the last token appends to it. Set fails when a value on the
// way is neither an object nor an array, or an index is out of range.
func (p Pointer) Set(root map[string]any, value any) error {
	if p.IsRoot() {
		return ErrRoot
	}
	var (
		parent   any       = root
		parentOf func(any) // replaces parent inside its own parent (for appends)
	)
	for i, t := range p.tokens {
		last := i == len(p.tokens)-1
		switch v := parent.(type) {
		case map[string]any:
			if last {
				v[t] = value
				return nil
			}
			next, ok := v[t]
			if !ok || next == nil {
				next = map[string]any{}
				v[t] = next
			}
			parentOf = func(n any) { v[t] = n }
			parent = next
		case []any:
			if last && t == "-" {
				parentOf(append(v, value))
				return nil
			}
			j, ok := index(t, len(v))
			if !ok {
				return fmt.Errorf("JSON pointer %q: %q is not an index of the array at %q (length %d)", p.text, t, prefix(p.tokens[:i]), len(v))
			}
			if last {
				v[j] = value
				return nil
			}
			parentOf = func(n any) { v[j] = n }
			parent = v[j]
		default:
			return fmt.Errorf("JSON pointer %q: the value at %q is a %s, not an object or array", p.text, prefix(p.tokens[:i]), kind(v))
		}
	}
	return nil // unreachable: the loop returns on the last token
}

// prefix renders tokens as a pointer, for messages.
func prefix(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}
