package velocity

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/jsonvalue"
)

// Limits that keep one render bounded whatever the template does.
const (
	// MaxOutput is the largest string one render may produce, its output
	// included (Genesys itself refuses responses above 2 MB).
	MaxOutput = 8 << 20
	// MaxIterations is the most #foreach iterations one render may run.
	MaxIterations = 1_000_000
	// maxWork bounds the bytes one render may produce in total, counting
	// intermediate strings (interpolations, method results) that loops can
	// build over and over.
	maxWork = 8 * MaxOutput
)

// ErrLimit is wrapped by render errors caused by MaxOutput, MaxIterations or
// the total work one render may do.
var ErrLimit = errors.New("template exceeds a render limit")

// errBreak unwinds rendering to the innermost #foreach (or the template).
var errBreak = errors.New("#break")

// Render renders the template. vars holds the top-level context objects by
// name; for a data action these are:
//
//   - "input": map[string]any of the action input, numbers as json.Number.
//     ${input.rawRequest} reads the key "rawRequest", so the caller puts the
//     whole input, encoded as a JSON string, under that key.
//   - "credentials", "authResponse": map[string]any (or map[string]string).
//   - "rawResult": the response body as a string (success template only).
//   - translation map results, by their names (success template only).
//
// The tools $esc, $encoding, $math, $successTemplateUtils and $salesforce
// are always available unless vars shadows their names. Values should be
// what encoding/json decodes to: map[string]any, []any, string, json.Number,
// float64, bool and nil; map[string]string and []string work too.
//
// Render never modifies vars and is safe for concurrent use. Errors come
// from Java exceptions Velocity would propagate (such as substring out of
// range) and from ErrLimit.
func (t *Template) Render(vars map[string]any) (string, error) {
	r := &renderer{name: t.name, vars: vars, locals: map[string]any{}}
	var b strings.Builder
	if err := r.nodes(&b, t.nodes); err != nil && !errors.Is(err, errBreak) {
		return "", err
	}
	return b.String(), nil
}

type renderer struct {
	name       string
	vars       map[string]any
	locals     map[string]any // #set and loop variables; a nil entry shadows vars
	iterations int
	work       int // bytes produced so far, output and intermediate strings
}

func (r *renderer) errorf(at position, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if at.line == 0 {
		return fmt.Errorf("velocity: %s: %w", r.name, err)
	}
	return fmt.Errorf("velocity: %s:%d:%d: %w", r.name, at.line, at.col, err)
}

func (r *renderer) write(b *strings.Builder, s string, at position) error {
	if b.Len()+len(s) > MaxOutput {
		return r.errorf(at, "%w: output over %d bytes", ErrLimit, MaxOutput)
	}
	if err := r.produce(len(s), at); err != nil {
		return err
	}
	b.WriteString(s)
	return nil
}

// produce charges n bytes of string building to the render's work budget.
func (r *renderer) produce(n int, at position) error {
	if r.work += n; r.work > maxWork {
		return r.errorf(at, "%w: more than %d bytes of strings built", ErrLimit, maxWork)
	}
	return nil
}

func (r *renderer) nodes(b *strings.Builder, nodes []node) error {
	for _, n := range nodes {
		if err := r.node(b, n); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) node(b *strings.Builder, n node) error {
	switch n := n.(type) {
	case *textNode:
		return r.write(b, n.text, position{})
	case *refNode:
		v, err := r.ref(n.ref)
		if err != nil {
			return err
		}
		return r.write(b, refText(n, v), n.ref.pos)
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c)
			if err != nil {
				return err
			}
			if truthy(v) {
				return r.nodes(b, n.bodies[i])
			}
		}
		return r.nodes(b, n.elseBody)
	case *setNode:
		v, err := r.eval(n.value)
		if err != nil {
			return err
		}
		if v != nil { // Velocity 1.7 leaves the variable unchanged on null.
			r.locals[n.name] = v
		}
		return nil
	case *foreachNode:
		return r.foreach(b, n)
	case *breakNode:
		return errBreak
	}
	return fmt.Errorf("velocity: unknown node %T", n)
}

// refText is what a reference renders as: its value, or when null its
// source text ("" for a quiet reference). Backslashes before it escape it
// when it has a value; a null reference renders with them as written.
func refText(n *refNode, v any) string {
	ref := n.ref
	if n.escapes == 0 {
		switch {
		case v != nil:
			return toString(v)
		case ref.quiet:
			return ""
		default:
			return ref.literal
		}
	}
	if v == nil {
		return strings.Repeat(`\`, n.escapes) + ref.literal
	}
	prefix := strings.Repeat(`\`, n.escapes/2)
	if n.escapes%2 == 1 {
		return prefix + ref.literal
	}
	return prefix + toString(v)
}

// foreachLoop is $foreach inside a #foreach body.
type foreachLoop struct {
	index, count int64
	hasNext      bool
	parent       any
}

func (r *renderer) foreach(b *strings.Builder, n *foreachNode) error {
	v, err := r.eval(n.iter)
	if err != nil {
		return err
	}
	var items []any
	var rng rangeValue
	size := int64(0)
	switch x := v.(type) {
	case []any:
		items, size = x, int64(len(x))
	case []string:
		items = make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		size = int64(len(x))
	case map[string]any: // Velocity iterates a map's values
		for _, k := range slices.Sorted(maps.Keys(x)) {
			items = append(items, x[k])
		}
		size = int64(len(items))
	case rangeValue:
		rng, size = x, x.len()
	default:
		return nil // Velocity skips what it cannot iterate, null included.
	}

	names := []string{n.name, "foreach", "velocityCount", "velocityHasNext"}
	saved := make([]any, len(names))
	had := make([]bool, len(names))
	for i, name := range names {
		saved[i], had[i] = r.locals[name]
	}
	defer func() {
		for i, name := range names {
			if had[i] {
				r.locals[name] = saved[i]
			} else {
				delete(r.locals, name)
			}
		}
	}()
	parent := r.locals["foreach"]
	for i := int64(0); i < size; i++ {
		if r.iterations++; r.iterations > MaxIterations {
			return r.errorf(n.pos, "%w: more than %d #foreach iterations", ErrLimit, MaxIterations)
		}
		var item any
		if items != nil {
			item = items[i]
		} else {
			item = rng.at(i)
		}
		loop := &foreachLoop{index: i, count: i + 1, hasNext: i+1 < size, parent: parent}
		r.locals[n.name] = item
		r.locals["foreach"] = loop
		r.locals["velocityCount"] = loop.count
		r.locals["velocityHasNext"] = loop.hasNext
		if err := r.nodes(b, n.body); err != nil {
			if errors.Is(err, errBreak) {
				return nil
			}
			return err
		}
	}
	return nil
}

// lookup resolves a top-level name: #set and loop variables, then vars,
// then the built-in tools.
func (r *renderer) lookup(name string) any {
	if v, ok := r.locals[name]; ok {
		return v
	}
	if v, ok := r.vars[name]; ok {
		return v
	}
	return builtinTool(name)
}

// ref evaluates a reference; nil means null (missing, or a null value).
func (r *renderer) ref(ref *reference) (any, error) {
	v := r.lookup(ref.name)
	for _, part := range ref.parts {
		if v == nil {
			return nil, nil
		}
		switch {
		case part.index != nil:
			idx, err := r.eval(part.index)
			if err != nil {
				return nil, err
			}
			v = index(v, idx)
		case part.call:
			args := make([]any, len(part.args))
			for i, a := range part.args {
				var err error
				if args[i], err = r.eval(a); err != nil {
					return nil, err
				}
			}
			var err error
			if v, err = call(v, part.name, args); err != nil {
				return nil, r.errorf(ref.pos, "%s: %w", ref.literal, err)
			}
			if s, ok := v.(string); ok {
				if len(s) > MaxOutput {
					return nil, r.errorf(ref.pos, "%w: %s result over %d bytes", ErrLimit, part.name, MaxOutput)
				}
				if err := r.produce(len(s), ref.pos); err != nil {
					return nil, err
				}
			}
		default:
			v = property(v, part.name)
		}
	}
	return v, nil
}

func (r *renderer) eval(e expr) (any, error) {
	switch e := e.(type) {
	case *literalExpr:
		return e.v, nil
	case *refExpr:
		return r.ref(e.ref)
	case *interpExpr:
		var b strings.Builder
		if err := r.nodes(&b, e.nodes); err != nil {
			return nil, err
		}
		return b.String(), nil
	case *listExpr:
		list := make([]any, len(e.items))
		for i, item := range e.items {
			var err error
			if list[i], err = r.eval(item); err != nil {
				return nil, err
			}
		}
		return list, nil
	case *rangeExpr:
		return r.rangeOf(e)
	case *mapExpr:
		m := make(map[string]any, len(e.keys))
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			m[toString(k)] = v
		}
		return m, nil
	case *unaryExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		if e.op == "!" {
			return !truthy(x), nil
		}
		if n, ok := jsonvalue.ToNumber(x); ok {
			return arithmetic("-", jsonvalue.Int(0), n), nil
		}
		return nil, nil
	case *binaryExpr:
		return r.binary(e)
	}
	return nil, fmt.Errorf("velocity: unknown expression %T", e)
}

func (r *renderer) binary(e *binaryExpr) (any, error) {
	l, err := r.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op { // short-circuit operators
	case "&&":
		if !truthy(l) {
			return false, nil
		}
	case "||":
		if truthy(l) {
			return true, nil
		}
	}
	rv, err := r.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "&&", "||":
		return truthy(rv), nil
	case "==":
		return equal(l, rv), nil
	case "!=":
		return !equal(l, rv), nil
	}
	x, xok := jsonvalue.ToNumber(l)
	y, yok := jsonvalue.ToNumber(rv)
	switch e.op {
	case "<", "<=", ">", ">=": // Velocity 1.7 compares numbers only
		if !xok || !yok {
			return false, nil
		}
		c := x.Compare(y)
		return e.op == "<" && c < 0 || e.op == "<=" && c <= 0 ||
			e.op == ">" && c > 0 || e.op == ">=" && c >= 0, nil
	case "+":
		_, ls := l.(string)
		_, rs := rv.(string)
		if ls || rs { // string concatenation, as Velocity's + does
			s := operandText(e.l, l) + operandText(e.r, rv)
			if len(s) > MaxOutput {
				return nil, r.errorf(position{}, "%w: string over %d bytes", ErrLimit, MaxOutput)
			}
			if err := r.produce(len(s), position{}); err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	if !xok || !yok {
		return nil, nil
	}
	return arithmetic(e.op, x, y), nil
}

// operandText is a + operand as concatenated: its value, or the source
// text of a null reference.
func operandText(e expr, v any) string {
	if v != nil {
		return toString(v)
	}
	if re, ok := e.(*refExpr); ok {
		return re.ref.literal
	}
	return "null"
}

// maxRange bounds the size of a [from..to] range.
const maxRange = MaxIterations

func (r *renderer) rangeOf(e *rangeExpr) (any, error) {
	from, err := r.eval(e.from)
	if err != nil {
		return nil, err
	}
	to, err := r.eval(e.to)
	if err != nil {
		return nil, err
	}
	x, xok := jsonvalue.ToNumber(from)
	y, yok := jsonvalue.ToNumber(to)
	if !xok || !yok {
		return nil, nil
	}
	a, b := x.Int64(), y.Int64()
	if a-b > maxRange || b-a > maxRange || (a < 0) != (b < 0) && (a/2-b/2 > maxRange/2 || b/2-a/2 > maxRange/2) {
		return nil, r.errorf(position{}, "%w: range [%d..%d] has more than %d elements", ErrLimit, a, b, maxRange)
	}
	return rangeValue{from: a, to: b}, nil
}
