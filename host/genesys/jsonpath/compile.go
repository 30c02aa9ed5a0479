package jsonpath

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply filters and parentheses may nest.
const maxDepth = 64

// SyntaxError reports a path that does not compile.
type SyntaxError struct {
	Path   string // the path given to Compile
	Offset int    // 0-based byte offset of the problem in Path
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonpath: %q at offset %d: %s", e.Path, e.Offset, e.Msg)
}

// Path is a compiled JSONPath. It is immutable and safe for concurrent use.
type Path struct {
	src      string
	relative bool // starts with @ (inside filters)
	tokens   []token
	length   bool   // ends in .length()
	definite bool   // yields one value, or nothing
	upDef    []bool // upDef[i]: every token before tokens[i] is definite
}

type tokenKind int

const (
	propertyToken tokenKind = iota // .name, ['a'], ['a','b']
	indexToken                     // [0], [-1], [0,2]
	sliceToken                     // [1:3], [:2], [-2:]
	wildcardToken                  // .*, [*]
	filterToken                    // [?(...)]
)

// token is one step of a path after its root.
type token struct {
	kind     tokenKind
	scan     bool // preceded by .. (deep scan)
	names    []string
	indexes  []int
	from, to *int // slice bounds, nil when omitted
	filter   filterExpr
}

// isDefinite is Jayway's token definiteness; several properties at the
// leaf merge into one object, which is definite.
func (t *token) isDefinite(leaf bool) bool {
	if t.scan {
		return false
	}
	switch t.kind {
	case propertyToken:
		return len(t.names) == 1 || leaf
	case indexToken:
		return len(t.indexes) == 1
	}
	return false
}

// Compile parses a JSONPath in Jayway's syntax. A path that starts with
// neither $ nor @ is read as if "$." preceded it, as Jayway does.
func Compile(path string) (*Path, error) {
	src := strings.TrimSpace(path)
	shift := strings.Index(path, src)
	if src == "" {
		return nil, &SyntaxError{Path: path, Msg: "empty path"}
	}
	if src[0] != '$' && src[0] != '@' {
		src = "$." + src
		shift -= 2
	}
	c := &compiler{orig: path, src: src, shift: shift}
	p, err := c.path(false)
	if err != nil {
		return nil, err
	}
	p.src = path
	return p, nil
}

// MustCompile is Compile for paths known to be valid; it panics otherwise.
func MustCompile(path string) *Path {
	p, err := Compile(path)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the path as given to Compile.
func (p *Path) String() string { return p.src }

// Definite reports whether the path names at most one value (no wildcard,
// deep scan, filter, slice, or several indexes or non-leaf names).
func (p *Path) Definite() bool { return p.definite }

type compiler struct {
	orig  string
	src   string
	shift int // offset of src[0] in orig
	i     int
	depth int
}

func (c *compiler) errorf(format string, args ...any) *SyntaxError {
	off := max(c.i+c.shift, 0)
	return &SyntaxError{Path: c.orig, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) enter() error {
	if c.depth++; c.depth > maxDepth {
		return c.errorf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (c *compiler) leave() { c.depth-- }

func (c *compiler) skipSpaces() {
	for c.i < len(c.src) && (c.src[c.i] == ' ' || c.src[c.i] == '\t' || c.src[c.i] == '\n' || c.src[c.i] == '\r') {
		c.i++
	}
}

func (c *compiler) peek(s string) bool { return strings.HasPrefix(c.src[c.i:], s) }

// path parses a path at c.src[c.i] == '$' or '@'. Inside a filter it stops
// at the first character that cannot continue it.
func (c *compiler) path(inFilter bool) (*Path, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	start := c.i
	p := &Path{relative: c.src[c.i] == '@'}
	c.i++
	for c.i < len(c.src) {
		ch := c.src[c.i]
		if ch != '.' && ch != '[' {
			if inFilter {
				break
			}
			return nil, c.errorf("unexpected %q", ch)
		}
		if p.length {
			return nil, c.errorf("length() must end the path")
		}
		var t token
		var err error
		switch {
		case c.peek(".."):
			c.i += 2
			t, err = c.afterDot(p)
			if p.length {
				return nil, c.errorf("length() cannot follow '..'")
			}
			t.scan = true
		case ch == '.':
			c.i++
			t, err = c.afterDot(p)
		default:
			t, err = c.bracket()
		}
		if err != nil {
			return nil, err
		}
		if !p.length { // afterDot records length() on p instead of returning a token
			p.tokens = append(p.tokens, t)
		}
	}
	p.src = c.src[start:c.i]
	p.upDef = make([]bool, len(p.tokens)+1)
	p.upDef[0] = true
	for i := range p.tokens {
		leaf := i == len(p.tokens)-1 && !p.length
		p.upDef[i+1] = p.upDef[i] && p.tokens[i].isDefinite(leaf)
	}
	p.definite = p.upDef[len(p.tokens)]
	if p.length && len(p.tokens) > 0 && p.tokens[0].scan {
		p.definite = true // Jayway applies the function to all of the scan's results
	}
	return p, nil
}

// afterDot parses what follows '.' or '..': a name, *, [...] or length(),
// which it records by setting p.length.
func (c *compiler) afterDot(p *Path) (token, error) {
	if c.i >= len(c.src) {
		return token{}, c.errorf("path must not end with '.' or '..'")
	}
	switch c.src[c.i] {
	case '[':
		return c.bracket()
	case '*':
		c.i++
		return token{kind: wildcardToken}, nil
	case '.':
		return token{}, c.errorf("unexpected '.'")
	}
	start := c.i
	for c.i < len(c.src) && !strings.ContainsRune(".[]()=!<>&|,'\" \t\r\n", rune(c.src[c.i])) {
		c.i++
	}
	name := c.src[start:c.i]
	if name == "" {
		return token{}, c.errorf("expected a property name")
	}
	if c.peek("(") {
		if name != "length" {
			return token{}, c.errorf("function %s() is not supported (only length())", name)
		}
		c.i++
		c.skipSpaces()
		if !c.peek(")") {
			return token{}, c.errorf("length() takes no arguments")
		}
		c.i++
		p.length = true
		return token{}, nil
	}
	return token{kind: propertyToken, names: []string{name}}, nil
}

// bracket parses [...] at c.src[c.i] == '['.
func (c *compiler) bracket() (token, error) {
	open := c.i
	c.i++
	c.skipSpaces()
	if c.i >= len(c.src) {
		c.i = open
		return token{}, c.errorf("unclosed [")
	}
	var t token
	switch ch := c.src[c.i]; {
	case ch == '?':
		c.i++
		c.skipSpaces()
		if !c.peek("(") {
			return token{}, c.errorf("a filter is written [?(expression)]")
		}
		c.i++
		f, err := c.filterOr()
		if err != nil {
			return token{}, err
		}
		c.skipSpaces()
		if !c.peek(")") {
			return token{}, c.errorf("filter is missing its closing )")
		}
		c.i++
		t = token{kind: filterToken, filter: f}
	case ch == '*':
		c.i++
		t = token{kind: wildcardToken}
	case ch == '\'' || ch == '"':
		t.kind = propertyToken
		for {
			name, err := c.quoted()
			if err != nil {
				return token{}, err
			}
			t.names = append(t.names, name)
			c.skipSpaces()
			if !c.peek(",") {
				break
			}
			c.i++
			c.skipSpaces()
		}
	default:
		end := strings.IndexByte(c.src[c.i:], ']')
		if end < 0 {
			c.i = open
			return token{}, c.errorf("unclosed [")
		}
		var err error
		if t, err = c.indexes(c.src[c.i : c.i+end]); err != nil {
			return token{}, err
		}
		c.i += end
	}
	c.skipSpaces()
	if !c.peek("]") {
		return token{}, c.errorf("expected ]")
	}
	c.i++
	return t, nil
}

// indexes parses the inside of [0], [0,1], [1:3], [:2] or [-2:].
func (c *compiler) indexes(s string) (token, error) {
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) != 2 {
			return token{}, c.errorf("slice steps are not supported")
		}
		t := token{kind: sliceToken}
		for k, part := range parts {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil || n != int(int32(n)) {
				return token{}, c.errorf("bad slice bound %q", part)
			}
			if k == 0 {
				t.from = &n
			} else {
				t.to = &n
			}
		}
		if t.from == nil && t.to == nil {
			return token{}, c.errorf("a slice needs a bound")
		}
		return t, nil
	}
	t := token{kind: indexToken}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || n != int(int32(n)) {
			return token{}, c.errorf("bad array index %q", part)
		}
		t.indexes = append(t.indexes, n)
	}
	return t, nil
}

// quoted reads a '...' or "..." string with Jayway's backslash escapes.
func (c *compiler) quoted() (string, error) {
	if c.i >= len(c.src) || (c.src[c.i] != '\'' && c.src[c.i] != '"') {
		return "", c.errorf("expected a quoted name")
	}
	q := c.src[c.i]
	start := c.i
	var b strings.Builder
	for c.i++; c.i < len(c.src); c.i++ {
		ch := c.src[c.i]
		switch {
		case ch == q:
			c.i++
			return b.String(), nil
		case ch == '\\' && c.i+1 < len(c.src):
			c.i++
			switch e := c.src[c.i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if c.i+4 < len(c.src) {
					if r, err := strconv.ParseUint(c.src[c.i+1:c.i+5], 16, 32); err == nil {
						b.WriteRune(rune(r))
						c.i += 4
						continue
					}
				}
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(ch)
		}
	}
	c.i = start
	return "", c.errorf("unterminated string")
}

func (c *compiler) filterOr() (filterExpr, error) { return c.logical("||", c.filterAnd) }

func (c *compiler) filterAnd() (filterExpr, error) { return c.logical("&&", c.filterUnary) }

// logical parses operand (op operand)*, grouping to the left.
func (c *compiler) logical(op string, operand func() (filterExpr, error)) (filterExpr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		c.skipSpaces()
		if !c.peek(op) {
			return l, nil
		}
		c.i += len(op)
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &logicalExpr{and: op == "&&", l: l, r: r}
	}
}

func (c *compiler) filterUnary() (filterExpr, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	c.skipSpaces()
	switch {
	case c.peek("!") && !c.peek("!="):
		c.i++
		x, err := c.filterUnary()
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	case c.peek("("):
		c.i++
		x, err := c.filterOr()
		if err != nil {
			return nil, err
		}
		c.skipSpaces()
		if !c.peek(")") {
			return nil, c.errorf("( without a matching )")
		}
		c.i++
		return x, nil
	}
	return c.relation()
}

// relation parses "operand op operand", or a lone path (an existence test).
func (c *compiler) relation() (filterExpr, error) {
	l, err := c.operand()
	if err != nil {
		return nil, err
	}
	c.skipSpaces()
	var op string
	for _, o := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if c.peek(o) {
			op = o
			break
		}
	}
	if op == "" {
		for _, o := range []string{"=~", "nin", "in", "subsetof", "anyof", "noneof", "size", "empty", "contains"} {
			if c.peek(o) {
				return nil, c.errorf("filter operator %s is not supported", o)
			}
		}
		if l.path == nil {
			return nil, c.errorf("a filter needs a comparison or a path to test")
		}
		return &existsExpr{path: l.path}, nil
	}
	c.i += len(op)
	r, err := c.operand()
	if err != nil {
		return nil, err
	}
	return &compareExpr{op: op, l: l, r: r}, nil
}

// operand parses a filter operand: @path, $path, or a literal.
func (c *compiler) operand() (operand, error) {
	c.skipSpaces()
	if c.i >= len(c.src) {
		return operand{}, c.errorf("unexpected end of filter")
	}
	switch ch := c.src[c.i]; {
	case ch == '@' || ch == '$':
		p, err := c.path(true)
		return operand{path: p}, err
	case ch == '\'' || ch == '"':
		s, err := c.quoted()
		return operand{value: s}, err
	case ch == '-' || isDigit(ch):
		return c.number()
	case ch == '/':
		return operand{}, c.errorf("regular expressions are not supported")
	case ch == '[' || ch == '{':
		return operand{}, c.errorf("JSON literals are not supported in filters")
	}
	for _, lit := range []struct {
		word  string
		value any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if c.peek(lit.word) {
			c.i += len(lit.word)
			return operand{value: lit.value}, nil
		}
	}
	return operand{}, c.errorf("unexpected %q in filter", c.src[c.i])
}

func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

// number parses -?digits(.digits)?([eE][+-]?digits)? as a json.Number.
func (c *compiler) number() (operand, error) {
	start := c.i
	if c.peek("-") {
		c.i++
	}
	digits := func() bool {
		k := c.i
		for c.i < len(c.src) && isDigit(c.src[c.i]) {
			c.i++
		}
		return c.i > k
	}
	if !digits() {
		return operand{}, c.errorf("malformed number")
	}
	if c.peek(".") {
		c.i++
		if !digits() {
			return operand{}, c.errorf("malformed number")
		}
	}
	if c.peek("e") || c.peek("E") {
		c.i++
		if c.peek("+") || c.peek("-") {
			c.i++
		}
		if !digits() {
			return operand{}, c.errorf("malformed number")
		}
	}
	return operand{value: json.Number(c.src[start:c.i])}, nil
}
