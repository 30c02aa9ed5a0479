package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Draft04 is the "$schema" of every exported contract: the JSON Schema
// dialect of Genesys Cloud data action contracts.
const Draft04 = "http://json-schema.org/draft-04/schema#"

// anyObject is what an absent schema becomes: the input contract of an
// action without inputs in the reference exports, and "any object" for an
// output.
func anyObject() object {
	return object{{"type", "object"}, {"properties", object{}}, {"additionalProperties", true}}
}

// toDraft04 rewrites a schema document in draft-04 form, with "$schema"
// and a title first (the document's own title, else title) and, when the
// document has none, description. It refuses what draft-04 cannot express.
func toDraft04(doc json.RawMessage, which, title, description string) (object, error) {
	c := converter{which}
	root := anyObject()
	if doc = bytes.TrimSpace(doc); len(doc) > 0 && string(doc) != "null" {
		v, err := decodeOrdered(doc)
		if err != nil {
			return nil, fmt.Errorf("%s schema: %w", which, err)
		}
		switch v := v.(type) {
		case object:
			if len(v) > 0 {
				root = v
			}
		case bool:
			if !v {
				return nil, c.errorf("", "the schema false accepts nothing")
			}
		default:
			return nil, c.errorf("", "a schema must be a JSON object")
		}
	}
	body, err := c.object(root, "")
	if err != nil {
		return nil, err
	}
	head := object{{"$schema", Draft04}, {"title", title}}
	if t, ok := body.get("title"); ok {
		head.set("title", t)
	}
	if _, ok := body.get("description"); !ok && description != "" {
		head.set("description", description)
	}
	for _, m := range body {
		if _, ok := head.get(m.key); !ok {
			head = append(head, m)
		}
	}
	return head, nil
}

// converter converts one schema document; which is "input" or "output".
type converter struct{ which string }

func (c converter) errorf(ptr, format string, args ...any) error {
	if ptr == "" {
		ptr = "the root"
	}
	return fmt.Errorf("%s schema at %s: %s", c.which, ptr, fmt.Sprintf(format, args...))
}

// schema converts a value in a schema position: draft-04 has no boolean
// schemas, so true becomes {} and false {"not": {}}.
func (c converter) schema(v any, ptr string) (object, error) {
	switch v := v.(type) {
	case object:
		return c.object(v, ptr)
	case bool:
		if v {
			return object{}, nil
		}
		return object{{"not", object{}}}, nil
	}
	return nil, c.errorf(ptr, "a schema must be an object or a boolean")
}

// schemaOrBool converts a value of a keyword that takes a boolean in
// draft-04 too (additionalProperties, additionalItems).
func (c converter) schemaOrBool(v any, ptr string) (any, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return c.schema(v, ptr)
}

func (c converter) schemas(v any, ptr string) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, c.errorf(ptr, "want an array of schemas")
	}
	out := make([]any, len(list))
	for i, e := range list {
		s, err := c.schema(e, fmt.Sprintf("%s/%d", ptr, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func (c converter) schemaMap(v any, ptr string) (object, error) {
	m, ok := v.(object)
	if !ok {
		return nil, c.errorf(ptr, "want an object of schemas")
	}
	out := make(object, 0, len(m))
	for _, e := range m {
		s, err := c.schema(e.value, ptr+"/"+escape(e.key))
		if err != nil {
			return nil, err
		}
		out = append(out, member{e.key, s})
	}
	return out, nil
}

// object converts a schema object, keyword by keyword, keeping its order.
func (c converter) object(s object, ptr string) (object, error) {
	out := make(object, 0, len(s))
	_, tuple := s.get("prefixItems")
	done := map[string]bool{}
	for _, m := range s {
		k, v := m.key, m.value
		p := ptr + "/" + escape(k)
		var err error
		switch k {
		case "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$vocabulary",
			"examples", "deprecated", "readOnly", "writeOnly", "contentEncoding", "contentMediaType", "contentSchema":
			// Annotations draft-04 lacks; they validate nothing.
		case "$ref", "$dynamicRef", "$recursiveRef":
			return nil, c.errorf(p, "%s: Genesys Cloud contracts do not support references; inline the referenced schema", k)
		case "if", "then", "else", "contains", "minContains", "maxContains", "propertyNames",
			"unevaluatedProperties", "unevaluatedItems", "$recursiveAnchor", "$dynamicScope":
			return nil, c.errorf(p, "%s cannot be expressed in draft-04, the dialect of Genesys Cloud contracts", k)
		case "const":
			if _, ok := s.get("enum"); ok {
				return nil, c.errorf(p, "const with enum cannot be expressed in draft-04; keep one of them")
			}
			out.set("enum", []any{v})
		case "minimum", "exclusiveMinimum":
			if !done["min"] {
				done["min"] = true
				err = c.bound(&out, s, "minimum", "exclusiveMinimum", 1, ptr)
			}
		case "maximum", "exclusiveMaximum":
			if !done["max"] {
				done["max"] = true
				err = c.bound(&out, s, "maximum", "exclusiveMaximum", -1, ptr)
			}
		case "prefixItems":
			var list []any
			if list, err = c.schemas(v, p); err == nil {
				out.set("items", list)
			}
		case "items":
			switch {
			case tuple: // 2020-12: items applies after prefixItems
				var extra any
				if extra, err = c.schemaOrBool(v, p); err == nil {
					out.set("additionalItems", extra)
				}
			default:
				var items any
				if _, isList := v.([]any); isList {
					items, err = c.schemas(v, p)
				} else {
					items, err = c.schema(v, p)
				}
				if err == nil {
					out.set("items", items)
				}
			}
		case "additionalItems", "additionalProperties":
			var sub any
			if sub, err = c.schemaOrBool(v, p); err == nil {
				out.set(k, sub)
			}
		case "not":
			var sub object
			if sub, err = c.schema(v, p); err == nil {
				out.set(k, sub)
			}
		case "allOf", "anyOf", "oneOf":
			var list []any
			if list, err = c.schemas(v, p); err == nil {
				out.set(k, list)
			}
		case "properties", "patternProperties", "definitions", "$defs":
			var subs object
			if subs, err = c.schemaMap(v, p); err == nil {
				if k == "$defs" {
					k = "definitions"
				}
				out.set(k, subs)
			}
		case "dependencies", "dependentRequired", "dependentSchemas":
			if !done["deps"] {
				done["deps"] = true
				err = c.dependencies(&out, s, ptr)
			}
		case "required":
			if list, ok := v.([]any); ok && len(list) == 0 {
				continue // draft-04 wants at least one name; [] requires nothing
			}
			out.set(k, v)
		default:
			out.set(k, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bound converts a bound and its exclusive form. Draft-06+ writes
// "exclusiveMinimum": 5; draft-04 writes "minimum": 5 with
// "exclusiveMinimum": true. When both a bound and a numeric exclusive bound
// are given, the stricter one is kept. dir is 1 for a minimum, -1 for a
// maximum.
func (c converter) bound(out *object, s object, bound, exclusive string, dir int, ptr string) error {
	b, hasB := s.get(bound)
	e, hasE := s.get(exclusive)
	if !hasE {
		out.set(bound, b)
		return nil
	}
	switch e := e.(type) {
	case bool: // already draft-04
		if hasB {
			out.set(bound, b)
		}
		out.set(exclusive, e)
		return nil
	case json.Number:
		if hasB {
			bn, ok := b.(json.Number)
			if !ok {
				return c.errorf(ptr+"/"+bound, "%s must be a number", bound)
			}
			if compare(e, bn)*dir < 0 { // the inclusive bound is stricter
				out.set(bound, bn)
				return nil
			}
		}
		out.set(bound, e)
		out.set(exclusive, true)
		return nil
	}
	return c.errorf(ptr+"/"+exclusive, "%s must be a number or a boolean", exclusive)
}

// compare compares two JSON numbers exactly.
func compare(a, b json.Number) int {
	x, okx := new(big.Rat).SetString(string(a))
	y, oky := new(big.Rat).SetString(string(b))
	if !okx || !oky {
		return strings.Compare(string(a), string(b))
	}
	return x.Cmp(y)
}

// dependencies merges draft-04 dependencies and the draft 2019-09
// dependentRequired and dependentSchemas into draft-04 dependencies.
func (c converter) dependencies(out *object, s object, ptr string) error {
	merged := object{}
	add := func(key string, v any) error {
		if _, dup := merged.get(key); dup {
			return c.errorf(ptr, "dependencies of %q given twice", key)
		}
		merged = append(merged, member{key, v})
		return nil
	}
	for _, kw := range []string{"dependencies", "dependentRequired", "dependentSchemas"} {
		v, ok := s.get(kw)
		if !ok {
			continue
		}
		deps, isObj := v.(object)
		if !isObj {
			return c.errorf(ptr+"/"+kw, "want an object")
		}
		for _, d := range deps {
			p := ptr + "/" + kw + "/" + escape(d.key)
			if names, isList := d.value.([]any); isList && kw != "dependentSchemas" {
				if err := add(d.key, names); err != nil {
					return err
				}
				continue
			}
			if kw == "dependentRequired" {
				return c.errorf(p, "want an array of property names")
			}
			sub, err := c.schema(d.value, p)
			if err != nil {
				return err
			}
			if err := add(d.key, sub); err != nil {
				return err
			}
		}
	}
	out.set("dependencies", merged)
	return nil
}

// errorFields are the output members of an action with errors = "data".
func errorFields() object {
	field := func(typ, desc string) object { return object{{"type", typ}, {"description", desc}} }
	return object{
		{"ok", field("boolean", "true when the action succeeded; false when it failed, and status, code, message and retryable say why")},
		{"status", field("integer", "HTTP status of the failure")},
		{"code", field("string", "machine-readable error code, such as action_not_found")},
		{"message", field("string", "human-readable description of the failure")},
		{"retryable", field("boolean", "whether running the action again may succeed")},
	}
}

// withErrorFields adds errorFields to an output schema. Only ok is
// required: a failure answers those fields alone, so the schema's own
// required members are dropped, else Genesys Cloud would reject every
// failure as breaking the success schema and take the failure path.
func withErrorFields(s object) (object, error) {
	c := converter{"output"}
	if t, ok := s.get("type"); ok && t != "object" {
		return nil, c.errorf("/type", "errors = \"data\" needs an object output, not type %v", t)
	}
	props := object{}
	if v, ok := s.get("properties"); ok {
		if props, ok = v.(object); !ok {
			return nil, c.errorf("/properties", "want an object")
		}
	}
	props = append(object{}, props...)
	for _, f := range errorFields() {
		if _, dup := props.get(f.key); dup {
			return nil, c.errorf("/properties/"+f.key, "property %q collides with the error field of errors = \"data\"", f.key)
		}
		props = append(props, f)
	}
	s = append(object{}, s...)
	s.set("type", "object")
	s.set("properties", props)
	s.set("required", []any{"ok"})
	return s, nil
}

// escape escapes a JSON pointer reference token (RFC 6901).
func escape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
