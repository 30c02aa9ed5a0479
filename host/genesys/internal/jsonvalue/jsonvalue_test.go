package jsonvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
)

func TestToNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		v  any
		ok bool
		n  Number
	}{
		"json integer":         {json.Number("-42"), true, Int(-42)},
		"json fraction":        {json.Number("1.50"), true, Float(1.5)},
		"json integral float":  {json.Number("2.0"), true, Float(2)},
		"json exponent":        {json.Number("1e3"), true, Float(1000)},
		"json beyond int64":    {json.Number("9223372036854775808"), true, Float(9223372036854775808)},
		"json out of range":    {json.Number("1e400"), false, Number{}},
		"json not a number":    {json.Number("x"), false, Number{}},
		"float64":              {2.5, true, Float(2.5)},
		"float32":              {float32(0.5), true, Float(0.5)},
		"int":                  {7, true, Int(7)},
		"int32":                {int32(-7), true, Int(-7)},
		"int64":                {int64(math.MaxInt64), true, Int(math.MaxInt64)},
		"string":               {"5", false, Number{}},
		"bool":                 {true, false, Number{}},
		"nil":                  {nil, false, Number{}},
		"other integer type":   {uint8(1), false, Number{}},
		"object is not number": {map[string]any{}, false, Number{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, ok := ToNumber(tc.v)
			if ok != tc.ok || n != tc.n {
				t.Errorf("ToNumber(%#v) = %+v, %v; want %+v, %v", tc.v, n, ok, tc.n, tc.ok)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		s        string
		n        Number
		errRange bool // the error wraps strconv.ErrRange
		err      bool
	}{
		"integer":      {s: "12", n: Int(12)},
		"float":        {s: "-0.25", n: Float(-0.25)},
		"underflow":    {s: "1e-400", n: Float(0)},
		"overflow":     {s: "1e400", n: Float(math.Inf(1)), errRange: true, err: true},
		"negative inf": {s: "-1e400", n: Float(math.Inf(-1)), errRange: true, err: true},
		"malformed":    {s: "1.2.3", err: true},
		"empty":        {s: "", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, err := ParseNumber(tc.s)
			if n != tc.n || (err != nil) != tc.err || errors.Is(err, strconv.ErrRange) != tc.errRange {
				t.Errorf("ParseNumber(%q) = %+v, %v", tc.s, n, err)
			}
		})
	}
}

func TestNumberAccessors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		n     Number
		isInt bool
		i     int64
		f     float64
	}{
		"int":            {Int(-3), true, -3, -3},
		"float":          {Float(2.75), false, 2, 2.75},
		"negative float": {Float(-2.75), false, -2, -2.75},
		"zero value":     {Number{}, false, 0, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.n.IsInt() != tc.isInt || tc.n.Int64() != tc.i || tc.n.Float64() != tc.f {
				t.Errorf("%+v: IsInt %v, Int64 %d, Float64 %v", tc.n, tc.n.IsInt(), tc.n.Int64(), tc.n.Float64())
			}
		})
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		a, b Number
		want int
	}{
		"ints less":          {Int(1), Int(2), -1},
		"ints equal":         {Int(5), Int(5), 0},
		"ints greater":       {Int(3), Int(-3), 1},
		"large ints exact":   {Int(math.MaxInt64), Int(math.MaxInt64 - 1), 1},
		"int and float":      {Int(5), Float(5), 0},
		"float and int":      {Float(1.5), Int(2), -1},
		"floats":             {Float(2.5), Float(-1), 1},
		"nan equals":         {Float(math.NaN()), Int(1), 0},
		"infinity":           {Float(math.Inf(1)), Int(math.MaxInt64), 1},
		"negative infinity":  {Float(math.Inf(-1)), Float(-1e308), -1},
		"zero and neg zero":  {Float(0), Float(math.Copysign(0, -1)), 0},
		"zero value is zero": {Number{}, Int(0), 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tc.a.Compare(tc.b); got != tc.want {
				t.Errorf("%+v.Compare(%+v) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// strict is a leaf rule by kind: numbers by value, others with ==.
func strict(a, b any) bool {
	if x, ok := ToNumber(a); ok {
		y, ok := ToNumber(b)
		return ok && x.Compare(y) == 0
	}
	switch a.(type) {
	case nil, string, bool:
		return a == b
	}
	return false
}

// loose is a leaf rule by string form.
func loose(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		a, b          any
		strict, loose bool
	}{
		"numbers":               {json.Number("1"), 1.0, true, true},
		"number and string":     {json.Number("1"), "1", false, true},
		"nulls":                 {nil, nil, true, true},
		"empty objects":         {map[string]any{}, map[string]any{}, true, true},
		"empty arrays":          {[]any{}, []any{}, true, true},
		"objects":               {map[string]any{"a": json.Number("2"), "b": "x"}, map[string]any{"b": "x", "a": 2.0}, true, true},
		"object member differs": {map[string]any{"a": "x"}, map[string]any{"a": "y"}, false, false},
		"object key differs":    {map[string]any{"a": "x"}, map[string]any{"b": "x"}, false, false},
		"object longer":         {map[string]any{"a": "x"}, map[string]any{"a": "x", "b": "x"}, false, false},
		"nested leaf rule":      {map[string]any{"a": []any{json.Number("1")}}, map[string]any{"a": []any{"1"}}, false, true},
		"arrays":                {[]any{"a", json.Number("1"), nil}, []any{"a", int64(1), nil}, true, true},
		"array order":           {[]any{"a", "b"}, []any{"b", "a"}, false, false},
		"array longer":          {[]any{"a"}, []any{"a", "a"}, false, false},
		"array and object":      {[]any{}, map[string]any{}, false, false},
		"array to leaf rule":    {[]any{"a"}, "[a]", false, true},
		"leaf to array rule":    {"[a]", []any{"a"}, false, true},
		"object to leaf rule":   {map[string]any{"a": "b"}, "map[a:b]", false, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tc.a, tc.b, strict); got != tc.strict {
				t.Errorf("Equal(%#v, %#v, strict) = %v", tc.a, tc.b, got)
			}
			if got := Equal(tc.a, tc.b, loose); got != tc.loose {
				t.Errorf("Equal(%#v, %#v, loose) = %v", tc.a, tc.b, got)
			}
		})
	}
}
