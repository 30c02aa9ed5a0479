// Package jsonvalue holds what the genesys packages share about decoded
// JSON values (map[string]any, []any, json.Number and other Go numbers,
// string, bool, nil): numbers exact when integral, and structural equality.
package jsonvalue

import (
	"encoding/json"
	"strconv"
)

// Number is a numeric value: an int64 when it is an integer (json.Number
// "5", int), else a float64 (json.Number "5.0", float64).
type Number struct {
	i     int64
	f     float64
	isInt bool
}

// Int returns i as a Number.
func Int(i int64) Number { return Number{i: i, isInt: true} }

// Float returns f as a Number.
func Float(f float64) Number { return Number{f: f} }

// IsInt reports whether n is an int64.
func (n Number) IsInt() bool { return n.isInt }

// Int64 returns n as an int64, a float truncated as a Go conversion does.
func (n Number) Int64() int64 {
	if n.isInt {
		return n.i
	}
	return int64(n.f)
}

// Float64 returns n as a float64.
func (n Number) Float64() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// Compare returns -1, 0 or 1 as n is less than, equal to or greater than
// m: exactly for two integers, else as float64s, with NaN equal to all.
func (n Number) Compare(m Number) int {
	if n.isInt && m.isInt {
		return sign(n.i < m.i, n.i > m.i)
	}
	a, b := n.Float64(), m.Float64()
	return sign(a < b, a > b)
}

func sign(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// ParseNumber parses s as an int64 when it is one, else with
// strconv.ParseFloat, whose error it returns: out of range, that is ±Inf
// and an error wrapping strconv.ErrRange.
func ParseNumber(s string) (Number, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Int(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return Float(f), err
}

// ToNumber reports v as a Number when it is a json.Number that parses
// (ParseNumber without error), a float64, float32, int, int32 or int64.
func ToNumber(v any) (Number, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := ParseNumber(string(x)); err == nil {
			return n, true
		}
	case float64:
		return Float(x), true
	case float32:
		return Float(float64(x)), true
	case int:
		return Int(int64(x)), true
	case int32:
		return Int(int64(x)), true
	case int64:
		return Int(x), true
	}
	return Number{}, false
}

// Equal reports whether a and b are structurally equal: two objects
// (map[string]any) with the same keys and equal members, or two arrays
// ([]any) of the same length with equal elements. Any other pair, at the
// top or within, is equal when leaf says so.
func Equal(a, b any, leaf func(a, b any) bool) bool {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			if len(x) != len(y) {
				return false
			}
			for k, v := range x {
				w, ok := y[k]
				if !ok || !Equal(v, w, leaf) {
					return false
				}
			}
			return true
		}
	case []any:
		if y, ok := b.([]any); ok {
			if len(x) != len(y) {
				return false
			}
			for i := range x {
				if !Equal(x[i], y[i], leaf) {
					return false
				}
			}
			return true
		}
	}
	return leaf(a, b)
}
