package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits of JSON numbers, checked before any schema sees them: a number
// that long, or with an exponent that large, is no data a flow sends, and
// validating one can take seconds (or, in the schema library, panic).
const (
	MaxNumberLength   = 100
	MaxNumberExponent = 400 // beyond float64's range either way, subnormals included
)

// DecodeObject decodes JSON that must be exactly one object, keeping numbers
// as json.Number so that no precision is lost before validation. It refuses
// what the host and a plugin could read differently: an object with a key
// twice, or with two keys equal but for case (Go's encoding/json, which
// plugins decode with, matches keys case-insensitively), invalid UTF-8, and
// numbers beyond MaxNumberLength and MaxNumberExponent.
//
// jsontext (github.com/go-json-experiment/json, the Go team's JSON v2)
// reads the tokens: it checks UTF-8 and duplicate keys itself, and reports
// byte offsets.
func DecodeObject(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("it is empty")
	}
	if !utf8.Valid(b) {
		return nil, errors.New("it is not valid UTF-8")
	}
	if depth(b) > MaxDepth {
		return nil, fmt.Errorf("it nests deeper than %d levels, Genesys Cloud's limit", MaxDepth)
	}
	dec := decoders.Get().(*decoder)
	defer dec.release()
	dec.buf = *bytes.NewBuffer(b)
	d := &dec.Decoder
	d.Reset(&dec.buf)
	if k := d.PeekKind(); k != '{' && k != 0 {
		return nil, fmt.Errorf("it is a JSON %s, not an object", kindName(k))
	}
	v, err := decodeValue(d)
	if err != nil {
		return nil, decodeError(err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("more data follows the JSON value")
	}
	return v.(map[string]any), nil
}

// decoder is a jsontext.Decoder reading from a buffer, kept between
// calls: a new one costs several allocations and its buffers.
type decoder struct {
	jsontext.Decoder
	buf bytes.Buffer
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func (d *decoder) release() {
	d.buf = bytes.Buffer{} // not to keep the caller's document alive
	d.Reset(&d.buf)
	decoders.Put(d)
}

// foldMapAbove is how many keys of one object are compared pairwise, with
// strings.EqualFold and no allocation, before a map of folded keys takes
// over.
const foldMapAbove = 16

func decodeValue(d *jsontext.Decoder) (any, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		obj := map[string]any{}
		var keys []string            // in order, compared case-insensitively while there are few
		var folded map[string]string // by case-folded key, once there are many
		for d.PeekKind() != '}' {
			kt, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			key := kt.String()
			prev, clash := "", false
			if folded == nil && len(keys) < foldMapAbove {
				for _, k := range keys {
					if strings.EqualFold(k, key) { // simple folding, as fold's orbits
						prev, clash = k, true
						break
					}
				}
				keys = append(keys, key)
			} else {
				if folded == nil {
					folded = make(map[string]string, 2*len(keys))
					for _, k := range keys {
						folded[fold(k)] = k
					}
				}
				f := fold(key)
				prev, clash = folded[f]
				folded[f] = key
			}
			if clash {
				return nil, fmt.Errorf("at %s: the keys %q and %q differ only in case, and a plugin could not tell them apart", d.StackPointer(), prev, key)
			}
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for d.PeekKind() != ']' {
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return arr, nil
	case '"':
		return tok.String(), nil
	case '0':
		n := tok.String()
		if err := checkNumber(n); err != nil {
			return nil, fmt.Errorf("at %s: %w", d.StackPointer(), err)
		}
		return json.Number(n), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// checkNumber bounds a JSON number literal's length and exponent.
func checkNumber(n string) error {
	if len(n) > MaxNumberLength {
		return fmt.Errorf("a number of %d characters; at most %d are accepted", len(n), MaxNumberLength)
	}
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return nil
	}
	exp := strings.TrimLeft(n[i+1:], "+-")
	exp = strings.TrimLeft(exp, "0")
	if len(exp) > 3 || len(exp) == 3 && exp > "400" {
		return fmt.Errorf("a number with an exponent beyond ±%d", MaxNumberExponent)
	}
	return nil
}

// fold maps strings that are equal under Unicode simple case folding (as
// strings.EqualFold and encoding/json compare keys) to the same string.
func fold(s string) string {
	canonical := true // no lower-case ASCII letter and no other script: already its own representative
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'a' <= c && c <= 'z' {
			canonical = false
			break
		}
	}
	if canonical {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		// The smallest rune of r's folding orbit stands for all of it.
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// decodeError words a decoder failure for the caller.
func decodeError(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends too soon")
	case errors.Is(err, jsontext.ErrDuplicateName):
		if errors.As(err, &se) {
			return fmt.Errorf("at %s: a key appears twice in one object", se.JSONPointer)
		}
		return errors.New("a key appears twice in one object")
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %w", se.ByteOffset, err)
	}
	return err
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '[':
		return "array"
	}
	return "value"
}
