package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Compile compiles a contract schema for validation. A schema without
// "$schema" is read as draft-04, the dialect of Genesys Cloud contracts;
// an absent schema (nil, empty, whitespace or JSON null) compiles to {},
// which accepts anything. References to anything outside the document are
// refused: a contract must never make Switchboard read a file or fetch a URL.
func Compile(doc json.RawMessage) (*jsonschema.Schema, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" {
		doc = json.RawMessage("{}")
	}
	const url = "switchboard:///contract.json"
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft4
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("refusing to load %q: contracts may only refer to themselves", u)
	}
	if err := c.AddResource(url, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return s, nil
}

// Problems lists the failures of a validation error, one "LOCATION: message"
// per leaf of the validation tree, LOCATION being a JSON pointer into the
// validated document ("/" for its root). Any other error is one problem.
func Problems(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	var out []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := e.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			out = append(out, loc+": "+e.Message)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// Describe joins Problems into one line.
func Describe(err error) string {
	return strings.Join(Problems(err), "; ")
}
