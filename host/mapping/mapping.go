// Package mapping builds an action's input from a request: each rule copies
// the value at a JSON pointer in the request document to a JSON pointer in
// the input, or uses the rule's default. The pipeline applies it on every
// request; rules are parsed once, when the action is loaded.
package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/jsonptr"
)

// Rule is one mapping rule as the plugin or the config states it.
type Rule struct {
	Target  string          // JSON pointer into the input, not empty
	Source  string          // JSON pointer into the request document
	Default json.RawMessage // used when Source resolves nothing; nil: required
}

// Mapping is a compiled, immutable list of rules. The zero value maps
// nothing: the request body is the input.
type Mapping struct {
	rules []rule
}

type rule struct {
	target, source jsonptr.Pointer
	def            json.RawMessage
}

// Compile parses the rules' pointers and defaults.
func Compile(rules []Rule) (Mapping, error) {
	m := Mapping{rules: make([]rule, 0, len(rules))}
	for _, r := range rules {
		target, err := jsonptr.Parse(r.Target)
		if err != nil {
			return Mapping{}, fmt.Errorf("mapping target: %w", err)
		}
		if target.IsRoot() {
			return Mapping{}, fmt.Errorf("mapping target %q: must name a member of the input, e.g. \"/userId\"", r.Target)
		}
		source, err := jsonptr.Parse(r.Source)
		if err != nil {
			return Mapping{}, fmt.Errorf("mapping source of %q: %w", r.Target, err)
		}
		if !source.IsRoot() && !documentMember(source.Tokens()[0]) {
			return Mapping{}, fmt.Errorf("mapping source %q of %q: must start with /data, /requestId, /action or /metadata", r.Source, r.Target)
		}
		if r.Default != nil && !json.Valid(r.Default) {
			return Mapping{}, fmt.Errorf("mapping default of %q: not valid JSON", r.Target)
		}
		m.rules = append(m.rules, rule{target: target, source: source, def: r.Default})
	}
	return m, nil
}

// Empty reports whether the mapping has no rules.
func (m Mapping) Empty() bool { return len(m.rules) == 0 }

// Rules returns the rules in their source form.
func (m Mapping) Rules() []Rule {
	out := make([]Rule, len(m.rules))
	for i, r := range m.rules {
		out[i] = Rule{Target: r.target.String(), Source: r.source.String(), Default: r.def}
	}
	return out
}

// Document is the request document that sources point into:
//
//	{"data": <request body>, "requestId": "...", "action": "...",
//	 "metadata": {"correlationId": ..., "organizationId": ..., ...}}
type Document struct {
	Data      any // the decoded request body
	RequestID string
	Action    string
	Metadata  map[string]string // only the keys the caller sent
}

func documentMember(t string) bool {
	switch t {
	case "data", "requestId", "action", "metadata":
		return true
	}
	return false
}

// Apply builds the input. A required source that resolves nothing is a 400
// "mapping_source_missing" naming the pointer.
func (m Mapping) Apply(doc *Document) (map[string]any, error) {
	in := make(map[string]any, len(m.rules))
	for _, r := range m.rules {
		v, ok := doc.get(r.source)
		if !ok {
			if r.def == nil {
				return nil, apierr.New(http.StatusBadRequest, "mapping_source_missing",
					"the request has no value at %s, which input %s of action %q requires", r.source, r.target, doc.Action)
			}
			d := json.NewDecoder(bytes.NewReader(r.def))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return nil, fmt.Errorf("decoding the default of %s: %w", r.target, err) // Compile checked it
			}
		}
		if err := r.target.Set(in, v); err != nil {
			return nil, apierr.Wrap(err, http.StatusBadRequest, "mapping_conflict", "cannot set input %s of action %q: %v", r.target, doc.Action, err)
		}
	}
	return in, nil
}

func (d *Document) get(p jsonptr.Pointer) (any, bool) {
	tokens := p.Tokens()
	if len(tokens) == 0 {
		return d.asMap(), true
	}
	rest := tokens[1:]
	switch tokens[0] {
	case "data":
		return jsonptr.GetTokens(d.Data, rest)
	case "requestId":
		return d.RequestID, len(rest) == 0
	case "action":
		return d.Action, len(rest) == 0
	case "metadata":
		return jsonptr.GetTokens(d.metadataMap(), rest)
	}
	return nil, false
}

func (d *Document) metadataMap() map[string]any {
	md := make(map[string]any, len(d.Metadata))
	for k, v := range d.Metadata {
		md[k] = v
	}
	return md
}

func (d *Document) asMap() map[string]any {
	return map[string]any{"data": d.Data, "requestId": d.RequestID, "action": d.Action, "metadata": d.metadataMap()}
}
