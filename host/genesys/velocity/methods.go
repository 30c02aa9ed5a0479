package velocity

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
)

// call invokes method name on v as Velocity would call the Java method.
// An unknown method, or arguments that fit none, yield nil (Velocity then
// renders the reference as written); a Java exception yields an error.
func call(v any, name string, args []any) (any, error) {
	switch x := v.(type) {
	case tool:
		return x.call(name, args)
	case string:
		return stringMethod(x, name, args)
	case map[string]any:
		return mapMethod(x, name, args), nil
	case map[string]string:
		return mapMethod(anyMap(x), name, args), nil
	case []any:
		return listMethod(x, name, args)
	case []string:
		return listMethod(anyList(x), name, args)
	case *foreachLoop:
		if len(args) == 0 {
			return x.property(strings.TrimPrefix(strings.TrimPrefix(name, "get"), "is")), nil
		}
	}
	if name == "toString" && len(args) == 0 {
		return toString(v), nil
	}
	return nil, nil
}

// property is $v.name: a map key, or a bean property (getName()/isName()).
func property(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[name]
	case map[string]string:
		if s, ok := x[name]; ok {
			return s
		}
		return nil
	case *foreachLoop:
		return x.property(name)
	case escTool:
		return x.property(name)
	}
	if name == "" {
		return nil
	}
	getter := strings.ToUpper(name[:1]) + name[1:]
	if r, err := call(v, "get"+getter, nil); err == nil && r != nil {
		return r
	}
	if r, err := call(v, "is"+getter, nil); err == nil && r != nil {
		return r
	}
	return nil
}

func (l *foreachLoop) property(name string) any {
	switch name {
	case "index", "Index":
		return l.index
	case "count", "Count":
		return l.count
	case "hasNext", "HasNext":
		return l.hasNext
	case "first", "First":
		return l.index == 0
	case "last", "Last":
		return !l.hasNext
	case "parent", "Parent":
		return l.parent
	}
	return nil
}

func (l *foreachLoop) String() string { return "$foreach" }

// index is $v[i]: a list element (negative counts from the end) or a map
// value; out of range is null.
func index(v, i any) any {
	switch x := v.(type) {
	case map[string]any:
		return x[toString(i)]
	case map[string]string:
		return property(x, toString(i))
	case []string:
		return index(anyList(x), i)
	case []any:
		n, ok := javaIndex(i)
		if !ok {
			return nil
		}
		if n < 0 {
			n += len(x)
		}
		if n < 0 || n >= len(x) {
			return nil
		}
		return x[n]
	}
	return nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func mapMethod(m map[string]any, name string, args []any) any {
	switch {
	case name == "get" && len(args) == 1 && args[0] != nil:
		return m[toString(args[0])]
	case name == "containsKey" && len(args) == 1 && args[0] != nil:
		_, ok := m[toString(args[0])]
		return ok
	case name == "size" && len(args) == 0:
		return int64(len(m))
	case name == "isEmpty" && len(args) == 0:
		return len(m) == 0
	case name == "keySet" && len(args) == 0:
		return anyList(slices.Sorted(maps.Keys(m)))
	case name == "values" && len(args) == 0:
		vals := make([]any, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			vals = append(vals, m[k])
		}
		return vals
	case name == "toString" && len(args) == 0:
		return toString(m)
	}
	return nil
}

func listMethod(l []any, name string, args []any) (any, error) {
	switch {
	case name == "get" && len(args) == 1:
		i, ok := javaIndex(args[0])
		if !ok {
			return nil, nil
		}
		if i < 0 || i >= len(l) {
			return nil, fmt.Errorf("list index %d out of range for size %d", i, len(l))
		}
		return l[i], nil
	case name == "size" && len(args) == 0:
		return int64(len(l)), nil
	case name == "isEmpty" && len(args) == 0:
		return len(l) == 0, nil
	case name == "contains" && len(args) == 1:
		for _, e := range l {
			if equal(e, args[0]) {
				return true, nil
			}
		}
		return false, nil
	case name == "toString" && len(args) == 0:
		return toString(l), nil
	}
	return nil, nil
}

// stringMethod calls a java.lang.String method. Lengths and indexes count
// UTF-16 code units, as Java does.
func stringMethod(s, name string, args []any) (any, error) {
	if len(args) == 0 {
		switch name {
		case "length":
			return int64(len(utf16.Encode([]rune(s)))), nil
		case "isEmpty":
			return s == "", nil
		case "toString":
			return s, nil
		case "trim":
			return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }), nil
		case "toUpperCase":
			return strings.ToUpper(s), nil
		case "toLowerCase":
			return strings.ToLower(s), nil
		}
		return nil, nil
	}
	if name == "substring" {
		return substring(s, args)
	}
	strs := make([]string, len(args))
	for i, a := range args {
		if a == nil {
			return nil, nil
		}
		strs[i] = toString(a)
	}
	switch {
	case len(strs) == 2 && name == "replace":
		return strings.ReplaceAll(s, strs[0], strs[1]), nil
	case len(strs) != 1:
		return nil, nil
	}
	arg := strs[0]
	switch name {
	case "contains":
		return strings.Contains(s, arg), nil
	case "startsWith":
		return strings.HasPrefix(s, arg), nil
	case "endsWith":
		return strings.HasSuffix(s, arg), nil
	case "equals":
		_, isString := args[0].(string)
		return isString && s == arg, nil
	case "equalsIgnoreCase":
		_, isString := args[0].(string)
		return isString && strings.EqualFold(s, arg), nil
	case "indexOf":
		return utf16Index(s, strings.Index(s, arg)), nil
	case "lastIndexOf":
		return utf16Index(s, strings.LastIndex(s, arg)), nil
	case "concat":
		return s + arg, nil
	}
	return nil, nil
}

// utf16Index converts byte offset i of s (or -1) to a UTF-16 offset.
func utf16Index(s string, i int) int64 {
	if i < 0 {
		return -1
	}
	return int64(len(utf16.Encode([]rune(s[:i]))))
}

func substring(s string, args []any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, nil
	}
	u := utf16.Encode([]rune(s))
	begin, ok := javaIndex(args[0])
	end := len(u)
	if len(args) == 2 {
		var ok2 bool
		end, ok2 = javaIndex(args[1])
		ok = ok && ok2
	}
	if !ok {
		return nil, nil
	}
	if begin < 0 || end > len(u) || begin > end {
		return nil, fmt.Errorf("substring(%d, %d) out of range for length %d", begin, end, len(u))
	}
	return string(utf16.Decode(u[begin:end])), nil
}
