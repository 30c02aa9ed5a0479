package velocity

// position is a 1-based line and column (in bytes) inside a template.
type position struct{ line, col int }

// node is one piece of a parsed template body.
type node interface{}

// textNode is literal output.
type textNode struct{ text string }

// refNode renders a reference. escapes counts the backslashes written
// directly before the reference's '$'.
type refNode struct {
	ref     *reference
	escapes int
}

// ifNode is #if/#elseif/#else/#end: the first branch whose condition is
// true renders, else the else body (which may be empty).
type ifNode struct {
	conds    []expr
	bodies   [][]node
	elseBody []node
}

// setNode is #set($name = value).
type setNode struct {
	name  string
	value expr
	pos   position
}

// foreachNode is #foreach($name in iter) body #end.
type foreachNode struct {
	name string
	iter expr
	body []node
	pos  position
}

// breakNode is #break: it leaves the innermost #foreach, or stops
// rendering when outside any loop.
type breakNode struct{}

// reference is $name, $!name, ${name} or $!{name} followed by any number of
// .property, .method(args) and [index] accessors.
type reference struct {
	quiet   bool
	name    string
	parts   []accessor
	literal string // the reference as written, rendered when it is null
	pos     position
}

// accessor is one step after the root name of a reference.
type accessor struct {
	name  string // property or method name; empty for an index
	call  bool   // name(args)
	args  []expr
	index expr // [index]
}

// expr is an expression inside directive or method-call parentheses.
type expr interface{}

// literalExpr is a constant: string, int64, float64, bool or nil.
type literalExpr struct{ v any }

// interpExpr is a double-quoted string containing references or directives,
// rendered as a template each time it is evaluated.
type interpExpr struct{ nodes []node }

// refExpr is a reference used as a value.
type refExpr struct{ ref *reference }

// listExpr is [a, b, c].
type listExpr struct{ items []expr }

// rangeExpr is [from..to].
type rangeExpr struct{ from, to expr }

// mapExpr is {k: v, ...}.
type mapExpr struct{ keys, vals []expr }

// unaryExpr is !x or -x.
type unaryExpr struct {
	op string
	x  expr
}

// binaryExpr is l op r.
type binaryExpr struct {
	op   string
	l, r expr
}
