package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Rule ids, stable: tests, logs and users may match on them.
const (
	RuleJSON              = "schema-json"
	RuleMaxDepth          = "max-depth"
	RuleNoRef             = "no-ref"
	RuleInputObject       = "input-object"
	RuleInputFlat         = "input-flat"
	RuleInputName         = "input-name"
	RuleInputReserved     = "input-reserved"
	RuleOutputNestedArray = "output-nested-array"
)

// MaxDepth is the deepest nesting of objects and arrays Genesys Cloud
// accepts in a JSON document.
const MaxDepth = 50

// Violation is one broken rule.
type Violation struct {
	Schema   string // "input" or "output"
	Location string // JSON pointer into the schema document; "" is the root
	Rule     string // one of the Rule constants
	Message  string // a full sentence naming the schema, the location and the rule
}

// Error returns the message, so that a Violation can be used as an error.
func (v Violation) Error() string { return v.Message }

// Join returns the violations as one error, nil when there are none.
func Join(vs []Violation) error {
	errs := make([]error, len(vs))
	for i, v := range vs {
		errs[i] = v
	}
	return errors.Join(errs...)
}

// Reserved reports whether name is an input name Genesys Cloud sets itself.
func Reserved(name string) bool {
	switch name {
	case "orgId", "integrationId", "rawRequest":
		return true
	}
	return false
}

// Check checks an input and an output schema against every rule. Either may
// be absent (nil, empty or JSON null): that means any object, and passes.
func Check(input, output json.RawMessage) []Violation {
	var c checker
	if root, ok := c.document("input", input); ok {
		c.input(root)
	}
	if root, ok := c.document("output", output); ok {
		c.output(root, "")
	}
	return c.vs
}

type checker struct {
	schema string // "input" or "output", while checking it
	vs     []Violation
}

func (c *checker) add(loc, rule, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.vs = append(c.vs, Violation{
		Schema:   c.schema,
		Location: loc,
		Rule:     rule,
		Message:  fmt.Sprintf("%s schema: %s (rule %s)", c.schema, msg, rule),
	})
}

// document decodes one schema and applies the rules every document obeys.
// It returns the root object, or false when there is nothing more to check.
func (c *checker) document(which string, doc json.RawMessage) (map[string]any, bool) {
	c.schema = which
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		c.add("", RuleJSON, "is not valid JSON: %v", err)
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		c.add("", RuleJSON, "holds more than one JSON value")
		return nil, false
	}
	if depth, at := deepest(v, ""); depth > MaxDepth {
		c.add(at, RuleMaxDepth, "nests %d levels of objects and arrays (at %s); Genesys Cloud limits JSON documents to %d levels", depth, pointerOrRoot(at), MaxDepth)
	}
	c.refs(v, "")
	root, ok := v.(map[string]any)
	if !ok {
		c.add("", RuleJSON, "is a JSON %s; a schema is a JSON object", kind(v))
		return nil, false
	}
	return root, true
}

// deepest returns the nesting depth of v (a scalar is 0, {} is 1) and the
// location of the first container at the deepest level.
func deepest(v any, ptr string) (int, string) {
	best, at := 0, ptr
	visit := func(child any, childPtr string) {
		if d, a := deepest(child, childPtr); d > best {
			best, at = d, a
		}
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			visit(v[k], ptr+"/"+escape(k))
		}
	case []any:
		for i, e := range v {
			visit(e, fmt.Sprintf("%s/%d", ptr, i))
		}
	default:
		return 0, ptr
	}
	return best + 1, at
}

// refs reports every reference keyword, wherever it is.
func (c *checker) refs(v any, ptr string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := ptr + "/" + escape(k)
			switch k {
			case "$ref", "$dynamicRef", "$recursiveRef":
				c.add(p, RuleNoRef, "%s at %s: Genesys Cloud contracts do not support references; inline the referenced schema", k, p)
			}
			c.refs(v[k], p)
		}
	case []any:
		for i, e := range v {
			c.refs(e, fmt.Sprintf("%s/%d", ptr, i))
		}
	}
}

// input applies the input rules to the root of the input schema.
func (c *checker) input(root map[string]any) {
	if len(root) == 0 {
		return // {}: any object
	}
	if t, ok := types(root["type"]); !ok || len(t) != 1 || t[0] != "object" {
		c.add("", RuleInputObject, "the root must be {\"type\": \"object\"}, it is %s; Genesys Cloud inputs are objects", describeType(root["type"]))
	}
	c.inputObject(root, "")
}

// inputObject checks the properties an object-level input schema declares,
// following root-level allOf, anyOf and oneOf.
func (c *checker) inputObject(s map[string]any, ptr string) {
	if props, ok := s["properties"].(map[string]any); ok {
		for _, name := range slices.Sorted(maps.Keys(props)) {
			p := ptr + "/properties/" + escape(name)
			if !validName(name) {
				c.add(p, RuleInputName, "property %q at %s has an invalid name; Genesys Cloud input names start with a letter (a-z, A-Z) and hold only letters, digits, \"-\" and \"_\"", name, p)
			}
			if Reserved(name) {
				c.add(p, RuleInputReserved, "property %q at %s is reserved; Genesys Cloud sets orgId, integrationId and rawRequest itself and an input of that name breaks the action", name, p)
			}
			c.flat(fmt.Sprintf("property %q", name), props[name], p)
		}
	}
	if pats, ok := s["patternProperties"].(map[string]any); ok {
		for _, pat := range slices.Sorted(maps.Keys(pats)) {
			p := ptr + "/patternProperties/" + escape(pat)
			c.flat(fmt.Sprintf("pattern property %q", pat), pats[pat], p)
		}
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		c.flat("additionalProperties", ap, ptr+"/additionalProperties")
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		subs, _ := s[kw].([]any)
		for i, sub := range subs {
			if m, ok := sub.(map[string]any); ok {
				c.inputObject(m, fmt.Sprintf("%s/%s/%d", ptr, kw, i))
			}
		}
	}
}

// flat checks that one input property schema allows scalars only.
func (c *checker) flat(what string, schema any, ptr string) {
	const rule = "Genesys Cloud inputs are flat objects of string, integer, number, boolean or null"
	s, ok := schema.(map[string]any)
	if !ok {
		c.add(ptr, RuleInputFlat, "%s at %s is not a schema object; %s", what, ptr, rule)
		return
	}
	t, ok := types(s["type"])
	if !ok || len(t) == 0 {
		c.add(ptr, RuleInputFlat, "%s at %s declares no type, so it accepts objects and arrays; %s", what, ptr, rule)
		return
	}
	var bad []string
	for _, name := range t {
		switch name {
		case "string", "integer", "number", "boolean", "null":
		default:
			bad = append(bad, article(name))
		}
	}
	if len(bad) > 0 {
		c.add(ptr, RuleInputFlat, "%s at %s is %s; %s", what, ptr, strings.Join(bad, " or "), rule)
	}
}

// output applies the output rules to a schema and all its subschemas.
func (c *checker) output(s map[string]any, ptr string) {
	if isArray(s) {
		for _, it := range itemSchemas(s, ptr) {
			if isArray(it.schema) {
				c.add(it.ptr, RuleOutputNestedArray, "the array at %s holds arrays (items at %s); Genesys Cloud outputs may not nest arrays", pointerOrRoot(ptr), it.ptr)
			}
		}
	}
	for _, sub := range subschemas(s, ptr) {
		c.output(sub.schema, sub.ptr)
	}
}

type located struct {
	schema map[string]any
	ptr    string
}

// itemSchemas returns the schemas an array schema's elements must match.
func itemSchemas(s map[string]any, ptr string) []located {
	var out []located
	switch items := s["items"].(type) {
	case map[string]any:
		out = append(out, located{items, ptr + "/items"})
	case []any:
		out = appendSchemas(out, items, ptr+"/items")
	}
	if ai, ok := s["additionalItems"].(map[string]any); ok {
		out = append(out, located{ai, ptr + "/additionalItems"})
	}
	if pi, ok := s["prefixItems"].([]any); ok {
		out = appendSchemas(out, pi, ptr+"/prefixItems")
	}
	return out
}

// subschemas returns the schemas directly inside s, in a stable order.
func subschemas(s map[string]any, ptr string) []located {
	var out []located
	for _, kw := range []string{"additionalItems", "additionalProperties", "contains", "else", "if", "items", "not", "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties"} {
		switch v := s[kw].(type) {
		case map[string]any:
			out = append(out, located{v, ptr + "/" + kw})
		case []any:
			if kw == "items" {
				out = appendSchemas(out, v, ptr+"/items")
			}
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
		if v, ok := s[kw].([]any); ok {
			out = appendSchemas(out, v, ptr+"/"+kw)
		}
	}
	for _, kw := range []string{"$defs", "definitions", "dependencies", "dependentSchemas", "patternProperties", "properties"} {
		m, _ := s[kw].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if sub, ok := m[k].(map[string]any); ok {
				out = append(out, located{sub, ptr + "/" + kw + "/" + escape(k)})
			}
		}
	}
	return out
}

func appendSchemas(out []located, list []any, ptr string) []located {
	for i, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, located{m, fmt.Sprintf("%s/%d", ptr, i)})
		}
	}
	return out
}

// isArray reports whether a schema's type allows arrays.
func isArray(s map[string]any) bool {
	t, _ := types(s["type"])
	for _, name := range t {
		if name == "array" {
			return true
		}
	}
	return false
}

// types returns a "type" keyword's type names; false when it is absent or
// not a string or an array of strings.
func types(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		names := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			names = append(names, s)
		}
		return names, true
	}
	return nil, false
}

func describeType(v any) string {
	if v == nil {
		return "without a type"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "of an unknown type"
	}
	return "of type " + string(b)
}

// article names a JSON type with its article: "an object", "a string".
func article(name string) string {
	switch name {
	case "object", "array", "integer":
		return "an " + name
	}
	return fmt.Sprintf("a %q", name)
}

// validName reports whether name is a valid Genesys Cloud input name.
func validName(name string) bool {
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_'):
		default:
			return false
		}
	}
	return name != ""
}

func kind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// escape escapes a JSON pointer reference token (RFC 6901).
func escape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "the root"
	}
	return p
}
