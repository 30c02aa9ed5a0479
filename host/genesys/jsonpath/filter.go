package jsonpath

import (
	"encoding/json"
	"errors"
	"strconv"
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
		c = x.compare(y)
	} else if x, ok := l.(string); ok {
		y, ok := r.(string)
		if !ok {
			return false
		}
		c = cmpStrings(x, y)
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

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equal is JSON equality: numbers by value, objects and arrays deeply.
func equal(a, b any) bool {
	if x, ok := toNumber(a); ok {
		y, ok := toNumber(b)
		return ok && x.compare(y) == 0
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
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// number is a JSON number, exact when it is an integer.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return number{i: i, isInt: true}, true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return number{}, false
		}
		return number{f: f}, true
	case float64:
		return number{f: x}, true
	case int:
		return number{i: int64(x), isInt: true}, true
	case int64:
		return number{i: x, isInt: true}, true
	}
	return number{}, false
}

func (n number) compare(m number) int {
	if n.isInt && m.isInt {
		switch {
		case n.i < m.i:
			return -1
		case n.i > m.i:
			return 1
		}
		return 0
	}
	a, b := n.f, m.f
	if n.isInt {
		a = float64(n.i)
	}
	if m.isInt {
		b = float64(m.i)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
