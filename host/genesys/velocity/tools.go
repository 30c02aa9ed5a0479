package velocity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/jsonvalue"
)

// The built-in tools Genesys Cloud puts in every template's context.
type (
	// escTool is $esc: Velocity's EscapeTool plus the Genesys additions.
	escTool struct{}
	// encodingTool is $encoding.
	encodingTool struct{}
	// mathTool is $math: Velocity's MathTool.
	mathTool struct{}
	// successTemplateUtils is $successTemplateUtils.
	successTemplateUtils struct{}
	// salesforceTool is $salesforce, from the Salesforce data actions.
	salesforceTool struct{}
)

func (escTool) String() string              { return "EscapeTool" }
func (encodingTool) String() string         { return "EncodingTool" }
func (mathTool) String() string             { return "MathTool" }
func (successTemplateUtils) String() string { return "SuccessTemplateUtils" }
func (salesforceTool) String() string       { return "SalesforceTool" }

func builtinTool(name string) any {
	switch name {
	case "esc":
		return escTool{}
	case "encoding":
		return encodingTool{}
	case "math":
		return mathTool{}
	case "successTemplateUtils":
		return successTemplateUtils{}
	case "salesforce":
		return salesforceTool{}
	}
	return nil
}

// oneString returns the single non-null argument of a tool method as a
// string; ok is false (the call yields null) otherwise.
func oneString(args []any) (string, bool) {
	if len(args) != 1 || args[0] == nil {
		return "", false
	}
	return toString(args[0]), true
}

func (escTool) call(name string, args []any) (any, error) {
	s, ok := oneString(args)
	if !ok {
		return nil, nil
	}
	switch name {
	case "jsonString", "jsonEncode":
		return jsonEscape(s), nil
	case "url", "urlFormEncode":
		return formEncode(s), nil
	case "uriEncode":
		return uriEncode(s), nil
	}
	return nil, nil
}

func (escTool) property(name string) any {
	switch name {
	case "d", "dollar":
		return "$"
	case "h", "hash":
		return "#"
	case "b", "backslash":
		return `\`
	case "q", "quote":
		return `"`
	case "s", "singleQuote":
		return "'"
	case "e", "exclamation":
		return "!"
	case "n", "newline":
		return "\n"
	}
	return nil
}

// jsonEscape escapes s for use inside a JSON string literal, without the
// surrounding quotes: quote, backslash and control characters.
func jsonEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

// formEncode is Java's URLEncoder.encode(s, UTF-8), which EscapeTool.url
// uses: letters, digits and . - * _ stay, space becomes +, everything else
// is %XX-encoded.
func formEncode(s string) string {
	return percentEncode(s, func(c byte) bool {
		return isLetter(c) || isDigit(c) || c == '.' || c == '-' || c == '*' || c == '_'
	}, true)
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters
// (letters, digits, - . _ ~); space becomes %20.
func uriEncode(s string) string {
	return percentEncode(s, func(c byte) bool {
		return isLetter(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
	}, false)
}

func percentEncode(s string, keep func(byte) bool, spacePlus bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case keep(c):
			b.WriteByte(c)
		case c == ' ' && spacePlus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String()
}

func (encodingTool) call(name string, args []any) (any, error) {
	s, ok := oneString(args)
	if !ok || name != "base64" {
		return nil, nil
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func (successTemplateUtils) call(name string, args []any) (any, error) {
	if name != "firstFromArray" || len(args) < 1 || len(args) > 2 || args[0] == nil {
		return nil, nil
	}
	def := ""
	if len(args) == 2 && args[1] != nil {
		def = toString(args[1])
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(toString(args[0])), &items); err != nil {
		return nil, fmt.Errorf("firstFromArray: argument is not a JSON array: %w", err)
	}
	if len(items) == 0 {
		return def, nil
	}
	return string(items[0]), nil
}

// soslReserved are the characters a SOSL search term escapes with '\'.
const soslReserved = `?&|!{}[]()^~*:\"'+-`

func (salesforceTool) call(name string, args []any) (any, error) {
	s, ok := oneString(args)
	if !ok || name != "escReserved" {
		return nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(soslReserved, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// mathNumber converts a MathTool argument: numbers, and strings holding one.
func mathNumber(v any) (jsonvalue.Number, bool) {
	if s, ok := v.(string); ok {
		v = json.Number(strings.TrimSpace(s))
	}
	return jsonvalue.ToNumber(v)
}

var errNoResult = errors.New("no result")

func (mathTool) call(name string, args []any) (any, error) {
	nums := make([]jsonvalue.Number, len(args))
	for i, a := range args {
		n, ok := mathNumber(a)
		if !ok {
			return nil, nil // MathTool returns null for anything not a number
		}
		nums[i] = n
	}
	v, err := mathOp(name, nums)
	if errors.Is(err, errNoResult) {
		return nil, nil
	}
	return v, err
}

func mathOp(name string, nums []jsonvalue.Number) (any, error) {
	switch name {
	case "add", "sub", "mul", "div", "max", "min":
		if len(nums) == 0 {
			return nil, errNoResult
		}
		acc := nums[0].Float64()
		for _, n := range nums[1:] {
			x := n.Float64()
			switch name {
			case "add":
				acc += x
			case "sub":
				acc -= x
			case "mul":
				acc *= x
			case "div":
				if x == 0 {
					return nil, errNoResult
				}
				acc /= x
			case "max":
				acc = math.Max(acc, x)
			case "min":
				acc = math.Min(acc, x)
			}
		}
		return matchType(acc, nums), nil
	}
	if len(nums) == 2 && name == "roundTo" {
		scale := math.Pow(10, float64(int(nums[0].Float64())))
		return math.RoundToEven(nums[1].Float64()*scale) / scale, nil
	}
	if len(nums) != 1 {
		return nil, errNoResult
	}
	x := nums[0].Float64()
	switch name {
	case "abs":
		return matchType(math.Abs(x), nums), nil
	case "ceil":
		return int64(math.Ceil(x)), nil
	case "floor":
		return int64(math.Floor(x)), nil
	case "round":
		return int64(math.RoundToEven(x)), nil
	case "toInteger":
		return int64(math.Trunc(x)), nil
	case "toDouble":
		return x, nil
	}
	return nil, errNoResult
}

// matchType is MathTool's result typing: a whole number when every input
// was integral and the result is whole, else a double.
func matchType(v float64, in []jsonvalue.Number) any {
	for _, n := range in {
		if !n.IsInt() {
			return v
		}
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return int64(v)
	}
	return v
}

// tool is implemented by the built-in tools.
type tool interface {
	call(name string, args []any) (any, error)
}

var (
	_ tool = escTool{}
	_ tool = encodingTool{}
	_ tool = mathTool{}
	_ tool = successTemplateUtils{}
	_ tool = salesforceTool{}
)

// javaIndex converts n to a Java int index.
func javaIndex(v any) (int, bool) {
	n, ok := jsonvalue.ToNumber(v)
	if !ok || !n.IsInt() || n.Int64() < math.MinInt32 || n.Int64() > math.MaxInt32 {
		return 0, false
	}
	return int(n.Int64()), true
}
