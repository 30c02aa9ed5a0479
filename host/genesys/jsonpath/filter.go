package jsonpath

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/jsonvalue"
)

// filterExpr is the expression inside [?( )].
type filterExpr interface{}

// logicalExpr is l && r or l || r.
type logicalExpr struct {
	and  bool
	l, r filterExpr
}

// notExpr is !x.
type notExpr struct{ x filterExpr }

// existsExpr is a lone path: true when it resolves.
type existsExpr struct{ path *Path }

// compareExpr is l op r with op one of == != < <= > >=.
type compareExpr struct {
	op   string
	l, r operand
}

// operand is a path (@ relative to the item, $ to the document) or a
// literal: string, json.Number, bool or nil.
type operand struct {
	path  *Path
	value any
}

// test evaluates a filter with item as @.
func (e *evaluation) test(f filterExpr, item any) (bool, error) {
	switch f := f.(type) {
	case *logicalExpr:
		l, err := e.test(f.l, item)
		if err != nil || l != f.and {
			return l, err // false && ..., true || ...
		}
		return e.test(f.r, item)
	case *notExpr:
		x, err := e.test(f.x, item)
		return !x, err
	case *existsExpr:
		_, ok, err := e.resolve(f.path, item)
		return ok, err
	case *compareExpr:
		l, lok, err := e.value(f.l, item)
		if err != nil {
			return false, err
		}
		r, rok, err := e.value(f.r, item)
		if err != nil {
			return false, err
		}
		return compare(f.op, l, lok, r, rok), nil
	}
	return false, errors.New("jsonpath: unknown filter expression")
}

// resolve evaluates a filter path with Jayway's REQUIRE_PROPERTIES, so a
// missing member anywhere makes it undefined.
func (e *evaluation) resolve(p *Path, item any) (any, bool, error) {
	start := e.root
	if p.relative {
		start = item
	}
	return p.eval(start, e.root, true)
}

func (e *evaluation) value(o operand, item any) (any, bool, error) {
	if o.path == nil {
		return o.value, true, nil
	}
	return e.resolve(o.path, item)
}

// compare applies a filter comparison. An undefined side (a path that
// resolves nothing) equals nothing. Values of different JSON types are
// never equal (1 is not '1'). Numbers order numerically, strings by bytes;
// other ordering comparisons are false.
func compare(op string, l any, lok bool, r any, rok bool) bool {
	switch op {
	case "==":
		return lok && rok && equal(l, r)
	case "!=":
		return !(lok && rok && equal(l, r))
	}
	if !lok || !rok {
		return false
	}
	var c int
	if x, ok := toNumber(l); ok {
		y, ok := toNumber(r)
		if !ok {
			return false
		}
		c = x.Compare(y)
	} else if x, ok := l.(string); ok {
		y, ok := r.(string)
		if !ok {
			return false
		}
		c = strings.Compare(x, y)
	} else {
		return false
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// equal is JSON equality: objects and arrays deeply, by leafEqual.
func equal(a, b any) bool { return jsonvalue.Equal(a, b, leafEqual) }

// leafEqual compares numbers by value, strings and booleans by content,
// and null with null; values of different kinds are never equal.
func leafEqual(a, b any) bool {
	if x, ok := toNumber(a); ok {
		y, ok := toNumber(b)
		return ok && x.Compare(y) == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// toNumber is jsonvalue.ToNumber, except that a json.Number beyond the
// float64 range is a number, ±Inf.
func toNumber(v any) (jsonvalue.Number, bool) {
	if s, ok := v.(json.Number); ok {
		n, err := jsonvalue.ParseNumber(string(s))
		return n, err == nil || errors.Is(err, strconv.ErrRange)
	}
	return jsonvalue.ToNumber(v)
}
