package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// errNotFound is Jayway's PathNotFoundException: it ends the evaluation
// and makes the whole path resolve nothing.
var errNotFound = errors.New("path not found")

// ErrFilterOnPrimitive is Jayway's InvalidPathException for a filter
// applied, on a definite prefix, to a value that is neither an object nor
// an array.
var ErrFilterOnPrimitive = errors.New("filter applied to a primitive value")

// Eval evaluates the path against doc, a value as encoding/json decodes it
// (map[string]any, []any, string, json.Number or float64, bool, nil).
//
// A definite path returns its single value (which may be nil for a JSON
// null) with found true, or found false when it resolves nothing. An
// indefinite path returns a []any of every match in document order (object
// members in sorted key order), possibly empty, with found true — unless a
// step on its definite prefix fails (a missing member, or a member or index
// of the wrong type), which Jayway reports as "path not found": found is
// then false. length() results are json.Number.
//
// The results share structure with doc; do not modify them. The only error
// is one wrapping ErrFilterOnPrimitive.
func (p *Path) Eval(doc any) (result any, found bool, err error) {
	return p.eval(doc, doc, false)
}

// eval evaluates p from start (the root document for $, the current item
// for @). require is Jayway's REQUIRE_PROPERTIES, which filters use.
func (p *Path) eval(start, root any, require bool) (any, bool, error) {
	e := &evaluation{path: p, root: root, require: require}
	var err error
	if p.length && len(p.tokens) > 0 && p.tokens[0].scan {
		// Jayway turns "$..x.length()" into length() of all of "$..x[*]".
		e.extra = &token{kind: wildcardToken}
		e.lengthAtLeaf = false
		err = e.step(0, start)
		if err == nil {
			return json.Number(strconv.Itoa(len(e.out))), true, nil
		}
	} else {
		e.lengthAtLeaf = p.length
		err = e.step(0, start)
	}
	switch {
	case errors.Is(err, errNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case p.definite:
		if len(e.out) == 0 {
			return nil, false, nil
		}
		return e.out[0], true, nil
	case e.out == nil:
		return []any{}, true, nil
	}
	return e.out, true, nil
}

type evaluation struct {
	path         *Path
	root         any
	require      bool
	extra        *token // a token evaluated after the path's own (length() over a scan)
	lengthAtLeaf bool   // apply length() to each value reaching the end
	out          []any
}

func (e *evaluation) tokenAt(i int) *token {
	if i < len(e.path.tokens) {
		return &e.path.tokens[i]
	}
	if i == len(e.path.tokens) && e.extra != nil {
		return e.extra
	}
	return nil
}

// isLeaf is Jayway's: no token (length() included) follows tokens[i].
func (e *evaluation) isLeaf(i int) bool {
	return e.tokenAt(i+1) == nil && !e.lengthAtLeaf
}

func (e *evaluation) upDef(i int) bool {
	if i < len(e.path.upDef) {
		return e.path.upDef[i]
	}
	return false
}

// step applies tokens[i:] to v, collecting results.
func (e *evaluation) step(i int, v any) error {
	t := e.tokenAt(i)
	if t == nil {
		if e.lengthAtLeaf {
			v = lengthOf(v)
		}
		e.out = append(e.out, v)
		return nil
	}
	if t.scan {
		return e.scan(i, t, v)
	}
	return e.apply(i, t, v, e.upDef(i))
}

// lengthOf is Jayway's length(): the size of an array or object, else null.
func lengthOf(v any) any {
	switch x := v.(type) {
	case []any:
		return json.Number(strconv.Itoa(len(x)))
	case map[string]any:
		return json.Number(strconv.Itoa(len(x)))
	}
	return nil
}

// apply applies token t (tokens[i]) to v. upDef tells whether everything
// before it was definite: then a mismatch means "path not found" rather
// than "no match here".
func (e *evaluation) apply(i int, t *token, v any, upDef bool) error {
	leaf := e.isLeaf(i)
	switch t.kind {
	case propertyToken:
		m, ok := v.(map[string]any)
		if !ok {
			return notFoundIf(upDef)
		}
		if len(t.names) > 1 && leaf { // Jayway merges leaf properties into one object
			merged := make(map[string]any, len(t.names))
			for _, name := range t.names {
				if val, ok := m[name]; ok {
					merged[name] = val
				} else if e.require {
					return errNotFound
				}
			}
			return e.step(i+1, merged)
		}
		for _, name := range t.names {
			val, ok := m[name]
			if !ok {
				if e.require || !leaf && upDef && len(t.names) == 1 {
					return errNotFound
				}
				continue
			}
			if err := e.step(i+1, val); err != nil {
				return err
			}
		}
	case indexToken, sliceToken:
		arr, ok := v.([]any)
		if !ok {
			return notFoundIf(upDef)
		}
		for _, idx := range t.positions(len(arr)) {
			if idx < 0 {
				idx += len(arr)
			}
			if idx < 0 || idx >= len(arr) {
				continue
			}
			if err := e.step(i+1, arr[idx]); err != nil {
				return err
			}
		}
	case wildcardToken:
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if err := e.step(i+1, x[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, el := range x {
				if err := e.step(i+1, el); err != nil {
					return err
				}
			}
		}
	case filterToken:
		switch x := v.(type) {
		case map[string]any: // Jayway tests an object itself
			return e.stepIf(i, t, x)
		case []any:
			for _, el := range x {
				if err := e.stepIf(i, t, el); err != nil {
					return err
				}
			}
		default:
			if upDef {
				return fmt.Errorf("jsonpath: %s: %w", e.path.src, ErrFilterOnPrimitive)
			}
		}
	}
	return nil
}

func notFoundIf(upDef bool) error {
	if upDef {
		return errNotFound
	}
	return nil
}

// stepIf continues with v when it passes t's filter.
func (e *evaluation) stepIf(i int, t *token, v any) error {
	ok, err := e.test(t.filter, v)
	if err != nil || !ok {
		return err
	}
	return e.step(i+1, v)
}

// positions lists the indexes an index or slice token selects in an array
// of length n (negative ones count from the end; out of range are skipped
// by the caller), with Jayway's slice rules.
func (t *token) positions(n int) []int {
	if t.kind == indexToken {
		return t.indexes
	}
	var from, to int
	switch {
	case t.to == nil: // [from:]
		from, to = *t.from, n
		if from < 0 {
			from = max(0, n+from)
		}
	case t.from == nil: // [:to]
		to = *t.to
		if to < 0 {
			to += n
		}
		to = min(n, to)
	default: // [from:to]; a negative from is not adjusted (as in Jayway)
		from, to = max(*t.from, -n), min(n, *t.to)
	}
	var out []int
	for k := from; k < to; k++ {
		out = append(out, k)
	}
	return out
}

// scan applies a deep-scan token to v and every object and array below it,
// parents before children.
func (e *evaluation) scan(i int, t *token, v any) error {
	switch x := v.(type) {
	case map[string]any:
		if err := e.scanNode(i, t, x); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := e.scan(i, t, x[k]); err != nil {
				return err
			}
		}
	case []any:
		if err := e.scanNode(i, t, x); err != nil {
			return err
		}
		for _, el := range x {
			if err := e.scan(i, t, el); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *evaluation) scanNode(i int, t *token, node any) error {
	switch t.kind {
	case propertyToken:
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		if len(t.names) == 1 {
			if val, ok := m[t.names[0]]; ok {
				return e.step(i+1, val)
			}
			return nil
		}
	case filterToken: // a scanned filter tests each node itself
		return e.stepIf(i, t, node)
	}
	return e.apply(i, t, node, false)
}
