package velocity

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/jsonvalue"
)

// rangeValue is the lazy list [from..to]; it counts down when from > to.
type rangeValue struct{ from, to int64 }

func (r rangeValue) len() int64 {
	if r.from <= r.to {
		return r.to - r.from + 1
	}
	return r.from - r.to + 1
}

func (r rangeValue) at(i int64) int64 {
	if r.from <= r.to {
		return r.from + i
	}
	return r.from - i
}

// truthy is Velocity 1.7's #if rule: null and false are false, everything
// else (the empty string and zero included) is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	return true
}

// toString renders v as Java's toString would. Numbers of the action input
// (json.Number) render exactly as they were written.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return javaDouble(x)
	case float32:
		return javaDouble(float64(x))
	case map[string]any:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(toString(x[k]))
		}
		b.WriteByte('}')
		return b.String()
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return toString(m)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = toString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case rangeValue:
		parts := make([]string, 0, x.len())
		for i := int64(0); i < x.len(); i++ {
			parts = append(parts, strconv.FormatInt(x.at(i), 10))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// javaDouble formats f like Java's Double.toString: "2.0", "0.001",
// "1.0E7", "1.25E-4".
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1.25E-04, 1E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// equal is Velocity 1.7's ==: null equals only null, numbers compare by
// value, values of the same kind compare by content, and values of
// different kinds compare by their string forms ("5" == 5 is true).
func equal(a, b any) bool { return jsonvalue.Equal(a, b, leafEqual) }

// leafEqual is equal for values other than two objects or two arrays.
func leafEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if x, ok := jsonvalue.ToNumber(a); ok {
		if y, ok := jsonvalue.ToNumber(b); ok {
			return x.Compare(y) == 0
		}
	}
	return toString(a) == toString(b)
}

// arithmetic applies + - * / % to two numbers, keeping integers integral
// (5 / 2 is 2, as in Velocity) and yielding nil on division by zero.
func arithmetic(op string, x, y jsonvalue.Number) any {
	if x.IsInt() && y.IsInt() {
		a, b := x.Int64(), y.Int64()
		switch op {
		case "+":
			if s := a + b; (s > a) == (b > 0) {
				return s
			}
		case "-":
			if d := a - b; (d < a) == (b > 0) {
				return d
			}
		case "*":
			if a == 0 || b == 0 {
				return int64(0)
			}
			if p := a * b; p/b == a && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64) {
				return p
			}
		case "/":
			if b == 0 {
				return nil
			}
			if !(a == math.MinInt64 && b == -1) {
				return a / b
			}
		case "%":
			if b == 0 {
				return nil
			}
			if b == -1 {
				return int64(0)
			}
			return a % b
		}
		// Overflow: fall back to floating point.
	}
	a, b := x.Float64(), y.Float64()
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		if b == 0 {
			return nil
		}
		return a / b
	case "%":
		if b == 0 {
			return nil
		}
		return math.Mod(a, b)
	}
	return nil
}
