package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/host/jsonptr"
)

// noRecursion refuses a schema that refers to itself through $ref, whatever
// contract_checks says: with anyOf or oneOf on the way, validating one input
// can take exponential time in its depth (66 s of CPU at depth 14 was
// measured). Only local JSON-pointer references ("#", "#/definitions/x")
// are followed; a schema with any other $ref is refused too, since where it
// leads cannot be told here.
func noRecursion(doc []byte) error {
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil // the compiler reports it
	}
	type ref struct{ at, to string } // JSON pointers: where the $ref is, where it points
	var refs []ref
	var walk func(v any, at string) error
	walk = func(v any, at string) error {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				to, ok := strings.CutPrefix(r, "#")
				if _, err := jsonptr.Parse(to); !ok || err != nil {
					return fmt.Errorf("$ref %q at %s: only local JSON pointers (\"#/definitions/x\") are allowed", r, location(at))
				}
				refs = append(refs, ref{at, to})
			}
			for k, e := range v {
				if err := walk(e, at+"/"+escape(k)); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range v {
				if err := walk(e, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return err
	}
	// Validating the schema at a pointer follows every $ref beneath it; a
	// reference back to a schema already on the way is recursion.
	var path []string
	done := map[string]bool{} // explored without finding recursion
	var visit func(at string) error
	visit = func(at string) error {
		if done[at] {
			return nil
		}
		path = append(path, at)
		defer func() { path = path[:len(path)-1] }()
		for _, r := range refs {
			if r.at != at && !strings.HasPrefix(r.at, at+"/") && at != "" {
				continue
			}
			if slices.Contains(path, r.to) || strings.HasPrefix(at, r.to+"/") || r.to == "" {
				return fmt.Errorf("it refers to itself ($ref %q at %s): validating a recursive schema can take exponential time", "#"+r.to, location(r.at))
			}
			if err := visit(r.to); err != nil {
				return err
			}
		}
		done[at] = true
		return nil
	}
	return visit("")
}

// escape escapes a key for a JSON pointer (RFC 6901).
func escape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
