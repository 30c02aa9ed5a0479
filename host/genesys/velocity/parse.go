package velocity

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply directives, expressions and string literals may
// nest, so hostile templates cannot exhaust the stack or parse in cubic time.
const maxDepth = 64

// SyntaxError reports a template that does not parse.
type SyntaxError struct {
	Template  string // the name given to Parse
	Line, Col int    // 1-based; Col counts bytes
	Msg       string

	fatal bool // nesting limit: never backtracked over
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("velocity: %s:%d:%d: %s", e.Template, e.Line, e.Col, e.Msg)
}

// Template is a parsed template. It is immutable and safe for concurrent use.
type Template struct {
	name  string
	nodes []node
}

// Name returns the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Parse parses src, naming it name in errors. A *SyntaxError reports the
// line and column of the problem.
func Parse(name, src string) (*Template, error) {
	p := &parser{name: name, src: src, base: position{1, 1}}
	nodes, term, err := p.block()
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, p.errAt(p.termPos, "#%s without a matching #if or #foreach", term)
	}
	return &Template{name: name, nodes: nodes}, nil
}

type parser struct {
	name    string
	src     string
	i       int
	base    position // where src starts in the template (string literals are parsed by a child parser)
	lines   []int    // offsets of line starts, built on first use
	depth   int
	termPos int // offset of the terminator block last returned
}

func (p *parser) pos(off int) position {
	if p.lines == nil {
		p.lines = []int{0}
		for i := 0; i < len(p.src); i++ {
			if p.src[i] == '\n' {
				p.lines = append(p.lines, i+1)
			}
		}
	}
	l := sort.Search(len(p.lines), func(k int) bool { return p.lines[k] > off }) - 1
	line, col := l+1, off-p.lines[l]+1
	if line == 1 {
		return position{p.base.line, p.base.col + col - 1}
	}
	return position{p.base.line + line - 1, col}
}

func (p *parser) errAt(off int, format string, args ...any) *SyntaxError {
	at := p.pos(off)
	return &SyntaxError{Template: p.name, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		err := p.errAt(p.i, "nesting deeper than %d levels", maxDepth)
		err.fatal = true
		return err
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func isFatal(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) && se.fatal
}

// block parses template content up to the end of input or a block
// terminator (#else, #elseif, #end), which it consumes and returns by name.
func (p *parser) block() ([]node, string, error) {
	var nodes []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, &textNode{text.String()})
			text.Reset()
		}
	}
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case '$':
			ref, ok, err := p.reference()
			if err != nil {
				return nil, "", err
			}
			if !ok {
				text.WriteByte('$')
				p.i++
				continue
			}
			flush()
			nodes = append(nodes, &refNode{ref: ref})
		case '\\':
			j := p.i
			for j < len(p.src) && p.src[j] == '\\' {
				j++
			}
			n := j - p.i
			if j < len(p.src) && p.src[j] == '$' {
				save := p.i
				p.i = j
				ref, ok, err := p.reference()
				if err != nil {
					return nil, "", err
				}
				if ok {
					flush()
					nodes = append(nodes, &refNode{ref: ref, escapes: n})
					continue
				}
				p.i = save
			} else if name, end := directiveName(p.src, j); isDirective(name) {
				text.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					text.WriteString(p.src[j:end]) // escaped: the directive is plain text
					p.i = end
				} else {
					p.i = j
				}
				continue
			}
			text.WriteString(p.src[p.i:j])
			p.i = j
		case '#':
			rest := p.src[p.i:]
			switch {
			case strings.HasPrefix(rest, "##"):
				p.i += lineLen(rest)
			case strings.HasPrefix(rest, "#*"):
				end := strings.Index(rest[2:], "*#")
				if end < 0 {
					return nil, "", p.errAt(p.i, "unterminated #* comment")
				}
				p.i += 2 + end + 2
			case strings.HasPrefix(rest, "#[["):
				end := strings.Index(rest[3:], "]]#")
				if end < 0 {
					return nil, "", p.errAt(p.i, "unterminated #[[ block")
				}
				text.WriteString(rest[3 : 3+end])
				p.i += 3 + end + 3
			default:
				start := p.i
				name, end := directiveName(p.src, p.i)
				var n node
				var err error
				switch name {
				case "else", "elseif", "end":
					flush()
					p.termPos, p.i = start, end
					if name != "elseif" {
						p.eatLineEnd()
					}
					return nodes, name, nil
				case "if":
					n, err = p.ifDirective(start, end)
				case "foreach":
					n, err = p.foreachDirective(start, end)
				case "set":
					// Like Velocity 1.7, #set swallows its indentation.
					k := start
					for k > 0 && (p.src[k-1] == ' ' || p.src[k-1] == '\t') {
						k--
					}
					if k == 0 || p.src[k-1] == '\n' || p.src[k-1] == '\r' {
						trimmed := strings.TrimRight(text.String(), " \t")
						text.Reset()
						text.WriteString(trimmed)
					}
					n, err = p.setDirective(start, end)
				case "break":
					n, p.i = &breakNode{}, end
					p.eatLineEnd()
				case "stop", "macro", "parse", "include", "evaluate", "define":
					return nil, "", p.errAt(start, "#%s is not supported in data action templates", name)
				default:
					text.WriteByte('#')
					p.i++
					continue
				}
				if err != nil {
					return nil, "", err
				}
				flush()
				nodes = append(nodes, n)
			}
		default:
			k := strings.IndexAny(p.src[p.i:], `$#\`)
			if k < 0 {
				k = len(p.src) - p.i
			}
			text.WriteString(p.src[p.i : p.i+k])
			p.i += k
		}
	}
	flush()
	return nodes, "", nil
}

// lineLen returns the length of s's first line including its line break.
func lineLen(s string) int {
	k := strings.IndexAny(s, "\r\n")
	switch {
	case k < 0:
		return len(s)
	case strings.HasPrefix(s[k:], "\r\n"):
		return k + 2
	default:
		return k + 1
	}
}

// eatLineEnd consumes trailing spaces and a line break after a directive, as
// Velocity 1.7 does; without a line break it consumes nothing.
func (p *parser) eatLineEnd() {
	j := p.i
	for j < len(p.src) && (p.src[j] == ' ' || p.src[j] == '\t') {
		j++
	}
	switch {
	case strings.HasPrefix(p.src[j:], "\r\n"):
		p.i = j + 2
	case j < len(p.src) && (p.src[j] == '\n' || p.src[j] == '\r'):
		p.i = j + 1
	}
}

// directiveName reads "#name" or "#{name}" at s[i]; it returns "" when s[i]
// does not start one.
func directiveName(s string, i int) (string, int) {
	if i >= len(s) || s[i] != '#' {
		return "", i
	}
	j := i + 1
	braced := j < len(s) && s[j] == '{'
	if braced {
		j++
	}
	k := j
	for k < len(s) && (isLetter(s[k]) || s[k] == '_' || (k > j && isDigit(s[k]))) {
		k++
	}
	if k == j {
		return "", i
	}
	if braced {
		if k >= len(s) || s[k] != '}' {
			return "", i
		}
		return s[j:k], k + 1
	}
	return s[j:k], k
}

func isDirective(name string) bool {
	switch name {
	case "if", "elseif", "else", "end", "set", "foreach", "break",
		"stop", "macro", "parse", "include", "evaluate", "define":
		return true
	}
	return false
}

func (p *parser) ifDirective(start, end int) (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.i = end
	cond, err := p.condition(start, "if")
	if err != nil {
		return nil, err
	}
	n := &ifNode{}
	for {
		body, term, err := p.block()
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch term {
		case "end":
			return n, nil
		case "":
			return nil, p.errAt(start, "#if without a matching #end")
		case "elseif":
			if cond, err = p.condition(p.termPos, "elseif"); err != nil {
				return nil, err
			}
		case "else":
			if n.elseBody, term, err = p.block(); err != nil {
				return nil, err
			}
			switch term {
			case "end":
				return n, nil
			case "":
				return nil, p.errAt(start, "#if without a matching #end")
			default:
				return nil, p.errAt(p.termPos, "#%s after #else", term)
			}
		}
	}
}

// condition parses "(expr)" after #if or #elseif and the line end after it.
func (p *parser) condition(start int, name string) (expr, error) {
	if err := p.openParen(start, name); err != nil {
		return nil, err
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.closeParen(start, name); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) openParen(start int, name string) error {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t') {
		p.i++
	}
	if p.i >= len(p.src) || p.src[p.i] != '(' {
		return p.errAt(start, "#%s must be followed by (", name)
	}
	p.i++
	return nil
}

func (p *parser) closeParen(start int, name string) error {
	p.skipSpace()
	if p.i >= len(p.src) || p.src[p.i] != ')' {
		return p.errAt(start, "#%s is missing its closing )", name)
	}
	p.i++
	p.eatLineEnd()
	return nil
}

// loopVar parses the "$name" of #set and #foreach.
func (p *parser) loopVar(start int, name string) (string, error) {
	p.skipSpace()
	if p.i >= len(p.src) || p.src[p.i] != '$' {
		return "", p.errAt(start, "#%s needs a $reference", name)
	}
	ref, ok, err := p.reference()
	if err != nil {
		return "", err
	}
	if !ok || ref.quiet || len(ref.parts) > 0 {
		return "", p.errAt(start, "#%s supports only a plain $name on its left side", name)
	}
	return ref.name, nil
}

func (p *parser) setDirective(start, end int) (node, error) {
	p.i = end
	if err := p.openParen(start, "set"); err != nil {
		return nil, err
	}
	name, err := p.loopVar(start, "set")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !strings.HasPrefix(p.src[p.i:], "=") || strings.HasPrefix(p.src[p.i:], "==") {
		return nil, p.errAt(start, "#set needs = after $%s", name)
	}
	p.i++
	value, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.closeParen(start, "set"); err != nil {
		return nil, err
	}
	return &setNode{name: name, value: value, pos: p.pos(start)}, nil
}

func (p *parser) foreachDirective(start, end int) (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.i = end
	if err := p.openParen(start, "foreach"); err != nil {
		return nil, err
	}
	name, err := p.loopVar(start, "foreach")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.word("in") {
		return nil, p.errAt(start, "#foreach needs 'in' after $%s", name)
	}
	iter, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.closeParen(start, "foreach"); err != nil {
		return nil, err
	}
	body, term, err := p.block()
	if err != nil {
		return nil, err
	}
	switch term {
	case "end":
		return &foreachNode{name: name, iter: iter, body: body, pos: p.pos(start)}, nil
	case "":
		return nil, p.errAt(start, "#foreach without a matching #end")
	default:
		return nil, p.errAt(p.termPos, "#%s inside #foreach", term)
	}
}

// reference parses a reference at p.src[p.i] == '$'. It reports ok=false,
// consuming nothing, when the '$' does not start one and is plain text.
func (p *parser) reference() (*reference, bool, error) {
	s := p.src
	start := p.i
	i := start + 1
	ref := &reference{}
	if i < len(s) && s[i] == '!' {
		ref.quiet = true
		i++
	}
	braced := i < len(s) && s[i] == '{'
	if braced {
		i++
	}
	if i >= len(s) || !identStart(s[i]) {
		return nil, false, nil
	}
	ref.pos = p.pos(start)
	ref.name, i = readIdent(s, i)
	for {
		if i+1 < len(s) && s[i] == '.' && identStart(s[i+1]) {
			var name string
			name, i = readIdent(s, i+1)
			if i < len(s) && s[i] == '(' {
				p.i = i + 1
				args, err := p.args(i)
				if err != nil {
					return nil, false, err
				}
				ref.parts = append(ref.parts, accessor{name: name, call: true, args: args})
				i = p.i
				continue
			}
			ref.parts = append(ref.parts, accessor{name: name})
			continue
		}
		if i < len(s) && s[i] == '[' {
			// An index only when "[expr]" parses; otherwise '[' is text.
			p.i = i + 1
			idx, err := p.expr()
			if isFatal(err) {
				return nil, false, err
			}
			if err == nil {
				p.skipSpace()
				if p.i < len(s) && s[p.i] == ']' {
					ref.parts = append(ref.parts, accessor{index: idx})
					i = p.i + 1
					continue
				}
			}
		}
		break
	}
	if braced {
		if i >= len(s) || s[i] != '}' {
			return nil, false, p.errAt(start, "%s is missing its closing }", s[start:i])
		}
		i++
	}
	ref.literal = s[start:i]
	p.i = i
	return ref, true, nil
}

// args parses method arguments after the '(' at open, through the ')'.
func (p *parser) args(open int) ([]expr, error) {
	var args []expr
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ')' {
		p.i++
		return nil, nil
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(open, "method call is missing its closing )")
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case ')':
			p.i++
			return args, nil
		default:
			return nil, p.errAt(p.i, "expected , or ) in method arguments, found %q", p.src[p.i])
		}
	}
}

func identStart(c byte) bool { return isLetter(c) || c == '_' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readIdent reads an identifier at s[i]: a letter or '_', then letters,
// digits, '_' and '-' (Velocity 1.7 allows hyphens, and Genesys input names
// may contain them).
func readIdent(s string, i int) (string, int) {
	j := i + 1
	for j < len(s) && (isLetter(s[j]) || isDigit(s[j]) || s[j] == '_' || s[j] == '-') {
		j++
	}
	return s[i:j], j
}

func (p *parser) skipSpace() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// word consumes the keyword w when it stands alone at p.i.
func (p *parser) word(w string) bool {
	if !strings.HasPrefix(p.src[p.i:], w) {
		return false
	}
	if j := p.i + len(w); j < len(p.src) && (isLetter(p.src[j]) || isDigit(p.src[j]) || p.src[j] == '_') {
		return false
	}
	p.i += len(w)
	return true
}

// expr parses an expression: || && (== !=) (< <= > >=) (+ -) (* / %), from
// loosest to tightest, then unary ! and -.
func (p *parser) expr() (expr, error) { return p.binary(0) }

const unaryLevel = 6

func (p *parser) binary(level int) (expr, error) {
	if level == unaryLevel {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := p.operator(level)
		if op == "" {
			return l, nil
		}
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: op, l: l, r: r}
	}
}

// operator consumes an operator of the given precedence level at p.i and
// returns it in symbolic form, or returns "".
func (p *parser) operator(level int) string {
	type op struct{ sym, word string }
	var ops []op
	switch level {
	case 0:
		ops = []op{{"||", "or"}}
	case 1:
		ops = []op{{"&&", "and"}}
	case 2:
		ops = []op{{"==", "eq"}, {"!=", "ne"}}
	case 3:
		ops = []op{{"<=", "le"}, {">=", "ge"}, {"<", "lt"}, {">", "gt"}}
	case 4:
		ops = []op{{"+", ""}, {"-", ""}}
	case 5:
		ops = []op{{"*", ""}, {"/", ""}, {"%", ""}}
	}
	for _, o := range ops {
		if strings.HasPrefix(p.src[p.i:], o.sym) {
			p.i += len(o.sym)
			return o.sym
		}
		if o.word != "" && p.word(o.word) {
			return o.sym
		}
	}
	return ""
}

func (p *parser) unary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.skipSpace()
	rest := p.src[p.i:]
	switch {
	case strings.HasPrefix(rest, "!") && !strings.HasPrefix(rest, "!="):
		p.i++
		x, err := p.unary()
		return &unaryExpr{op: "!", x: x}, err
	case p.word("not"):
		x, err := p.unary()
		return &unaryExpr{op: "!", x: x}, err
	case strings.HasPrefix(rest, "-") && (len(rest) < 2 || !isDigit(rest[1])):
		p.i++
		x, err := p.unary()
		return &unaryExpr{op: "-", x: x}, err
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	p.skipSpace()
	if p.i >= len(p.src) {
		return nil, p.errAt(p.i, "unexpected end of template in expression")
	}
	switch c := p.src[p.i]; {
	case c == '(':
		open := p.i
		p.i++
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ')' {
			return nil, p.errAt(open, "( without a matching )")
		}
		p.i++
		return e, nil
	case c == '"' || c == '\'':
		return p.stringLit()
	case c == '$':
		ref, ok, err := p.reference()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(p.i, "$ must start a reference here")
		}
		return &refExpr{ref: ref}, nil
	case c == '[':
		return p.listOrRange()
	case c == '{':
		return p.mapLit()
	case c == '-' || isDigit(c):
		return p.number()
	case isLetter(c):
		switch {
		case p.word("true"):
			return &literalExpr{v: true}, nil
		case p.word("false"):
			return &literalExpr{v: false}, nil
		case p.word("null"):
			return &literalExpr{v: nil}, nil
		}
	}
	return nil, p.errAt(p.i, "unexpected %q in expression", p.src[p.i])
}

func (p *parser) number() (expr, error) {
	s := p.src
	start, i := p.i, p.i
	if s[i] == '-' {
		i++
	}
	digits := func() {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i >= len(s) || !isDigit(s[i]) {
		return nil, p.errAt(start, "malformed number")
	}
	digits()
	float := false
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		float = true
		i++
		digits()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			float = true
			i = j
			digits()
		}
	}
	p.i = i
	text := s[start:i]
	if !float {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return &literalExpr{v: n}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errAt(start, "number %s is out of range", text)
	}
	return &literalExpr{v: f}, nil
}

// stringLit parses '...' (plain) or "..." (interpolated when it holds $ or
// #). As in Velocity 1.7 a doubled quote stands for one quote and
// backslashes are not escapes.
func (p *parser) stringLit() (expr, error) {
	s := p.src
	q := s[p.i]
	start := p.i
	i := start + 1
	var b strings.Builder
	for {
		k := strings.IndexByte(s[i:], q)
		if k < 0 {
			return nil, p.errAt(start, "unterminated string literal")
		}
		b.WriteString(s[i : i+k])
		i += k + 1
		if i < len(s) && s[i] == q {
			b.WriteByte(q)
			i++
			continue
		}
		break
	}
	p.i = i
	content := b.String()
	if q == '\'' || !strings.ContainsAny(content, "$#") {
		return &literalExpr{v: content}, nil
	}
	child := &parser{name: p.name, src: content, base: p.pos(start + 1), depth: p.depth}
	if err := child.enter(); err != nil {
		return nil, err
	}
	nodes, term, err := child.block()
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, child.errAt(child.termPos, "#%s without a matching #if or #foreach", term)
	}
	return &interpExpr{nodes: nodes}, nil
}

func (p *parser) listOrRange() (expr, error) {
	open := p.i
	p.i++
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return &listExpr{}, nil
	}
	first, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if strings.HasPrefix(p.src[p.i:], "..") {
		p.i += 2
		to, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ']' {
			return nil, p.errAt(open, "range is missing its closing ]")
		}
		p.i++
		return &rangeExpr{from: first, to: to}, nil
	}
	list := &listExpr{items: []expr{first}}
	for {
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(open, "list is missing its closing ]")
		}
		switch p.src[p.i] {
		case ']':
			p.i++
			return list, nil
		case ',':
			p.i++
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			list.items = append(list.items, e)
		default:
			return nil, p.errAt(p.i, "expected , or ] in list, found %q", p.src[p.i])
		}
	}
}

func (p *parser) mapLit() (expr, error) {
	open := p.i
	p.i++
	m := &mapExpr{}
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return nil, p.errAt(open, "map entry is missing its :")
		}
		p.i++
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(open, "map is missing its closing }")
		}
		switch p.src[p.i] {
		case '}':
			p.i++
			return m, nil
		case ',':
			p.i++
		default:
			return nil, p.errAt(p.i, "expected , or } in map, found %q", p.src[p.i])
		}
	}
}
