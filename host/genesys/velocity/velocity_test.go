package velocity

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// testVars is the context most table cases render with.
func testVars() map[string]any {
	input := map[string]any{
		"name":    "Ada",
		"empty":   "",
		"quote":   `He said "hi"` + "\n\tbye\\",
		"n":       json.Number("5"),
		"dec":     json.Number("1.50"),
		"yes":     true,
		"no":      false,
		"nothing": nil,
		"my-prop": "hyphen",
		"list":    []any{"a", "b", "c"},
		"nested":  map[string]any{"k": "v"},
		"space":   "a b&c~d*e",
		"emoji":   "x😀y",
	}
	raw, _ := json.Marshal(input)
	input["rawRequest"] = string(raw)
	return map[string]any{
		"input":        input,
		"credentials":  map[string]string{"user": "u", "pass": "p:w"},
		"authResponse": map[string]any{"access_token": "tok"},
		"rawResult":    `[{"id":1},{"id":2}]`,
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		src, want string
	}{
		"empty":                   {"", ""},
		"plain text":              {"hello {} [] world", "hello {} [] world"},
		"formal":                  {"${input.name}", "Ada"},
		"shorthand":               {"$input.name!", "Ada!"},
		"shorthand stops at dot":  {"$input.name.", "Ada."},
		"quiet formal":            {"[$!{input.missing}]", "[]"},
		"quiet shorthand":         {"[$!input.missing]", "[]"},
		"missing formal literal":  {"${input.missing}", "${input.missing}"},
		"missing shorthand":       {"$input.missing/x", "$input.missing/x"},
		"missing root":            {"${nobody.home}", "${nobody.home}"},
		"missing deep":            {"${input.nested.k.deeper}", "${input.nested.k.deeper}"},
		"null value literal":      {"${input.nothing}|$!{input.nothing}", "${input.nothing}|"},
		"nested map":              {"${input.nested.k}", "v"},
		"hyphen identifier":       {"${input.my-prop}", "hyphen"},
		"credentials string map":  {"${credentials.user}:${credentials.pass}", "u:p:w"},
		"auth response":           {"Bearer ${authResponse.access_token}", "Bearer tok"},
		"raw result":              {`{"values": ${rawResult}}`, `{"values": [{"id":1},{"id":2}]}`},
		"number as sent":          {"${input.n} ${input.dec}", "5 1.50"},
		"boolean":                 {"${input.yes},${input.no}", "true,false"},
		"list renders like java":  {"$input.list", "[a, b, c]"},
		"map renders like java":   {"$input.nested", "{k=v}"},
		"dollar not a reference":  {"$5 $ $$ ${ } $!", "$5 $ $$ ${ } $!"},
		"hash not a directive":    {"#1 #fragment #endif #{nope}", "#1 #fragment #endif #{nope}"},
		"index":                   {"$input.list[0]$input.list[-1]${input.list[1]}", "acb"},
		"index out of range":      {"$input.list[9]", "$input.list[9]"},
		"map index":               {`$input.nested["k"]`, "v"},
		"bracket text":            {"[$input.name][x", "[Ada][x"},
		"escaped defined":         {`\$input.name \${input.name}`, `$input.name ${input.name}`},
		"escaped undefined":       {`\$input.none`, `\$input.none`},
		"double backslash":        {`\\$input.name`, `\Ada`},
		"triple backslash":        {`\\\$input.name`, `\$input.name`},
		"backslash text":          {`a\b\\c`, `a\b\\c`},
		"escaped directive":       {`\#if($input.yes)x\#end`, `#if(true)x#end`},
		"line comment":            {"a## comment\nb", "ab"},
		"block comment":           {"a#* x\ny *#b", "ab"},
		"unparsed block":          {"#[[$input.name #if]]#", "$input.name #if"},
		"if true":                 {"#if($input.yes)y#else n#end", "y"},
		"if false":                {"#if($input.no)y#else n#end", " n"},
		"if missing is false":     {"#if($input.missing)y#{else}n#end", "n"},
		"if empty string is true": {"#if($input.empty)y#{else}n#end", "y"},
		"if zero is true":         {"#if(0)y#{else}n#end", "y"},
		"if string false is true": {`#if("false")y#{else}n#end`, "y"},
		"elseif":                  {"#if($input.n == 4)a#elseif($input.n == 5)b#{else}c#end", "b"},
		"not":                     {"#if(!$input.yes)a#elseif(not $input.no)b#end", "b"},
		"and or":                  {"#if($input.yes && ($input.no || true))y#end", "y"},
		"word operators":          {"#if($input.yes and $input.n gt 4 and $input.n le 5)y#end", "y"},
		"string equality":         {`#if($input.name == "Ada")y#end`, "y"},
		"number equality":         {"#if($input.n == 5.0)y#end", "y"},
		"mixed kinds by string":   {`#if($input.n == "5")y#end`, "y"},
		"not equal":               {`#if($input.name != "Bob")y#end`, "y"},
		"null literal":            {"#if($input.missing == null)y#end", "y"},
		"relational":              {"#if($input.n < 6 && $input.n >= 5 && $input.dec > 1)y#end", "y"},
		"relational non-number":   {`#if($input.name > 1)y#{else}n#end`, "n"},
		"quiet compare":           {`#if("$!{input.missing}" != "")y#{else}n#end`, "n"},
		"if eats line break":      {"#if($input.yes)\nline\n#end\nafter", "line\nafter"},
		"else eats line break":    {"#if($input.no)\na\n#else\nb\n#end\n", "b\n"},
		"set":                     {"#set($x = $input.name)$x", "Ada"},
		"set indentation":         {"a\n  #set($x = 1)\n$x", "a\n1"},
		"set mid-line keeps":      {"a #set($x = 1)$x", "a 1"},
		"set null keeps value":    {"#set($x = 1)#set($x = $input.missing)$x", "1"},
		"set arithmetic":          {"#set($x = $input.n * 2 + 1)$x", "11"},
		"integer division":        {"#set($x = 7 / 2)$x #set($y = 7 % 2)$y", "3 1"},
		"decimal arithmetic":      {"#set($x = 1.5 * 2)$x", "3.0"},
		"division by zero":        {"#set($x = 1)#set($x = 1 / 0)$x", "1"},
		"unary minus":             {"#set($x = -$input.n)$x", "-5"},
		"string concat":           {`#set($x = "a" + $input.n)$x`, "a5"},
		"interpolated string":     {`#set($x = "hi ${input.name}!")$x`, "hi Ada!"},
		"single quotes literal":   {`#set($x = 'hi $input.name')$x`, "hi $input.name"},
		"doubled quote":           {`#set($x = "say ""hi""")$x`, `say "hi"`},
		"foreach":                 {"#foreach($i in $input.list)$i#if($foreach.hasNext),#end#end", "a,b,c"},
		"foreach count":           {"#foreach($i in $input.list)$velocityCount$foreach.index#end", "102132"},
		"foreach range":           {"#foreach($i in [3..1])$i#end", "321"},
		"foreach list literal":    {`#foreach($i in ["x", 2, true])$i#end`, "x2true"},
		"foreach map values":      {`#foreach($v in {"b": 2, "a": 1})$v#end`, "12"},
		"foreach break":           {"#foreach($i in [1..5])#if($i == 3)#break#end$i#end", "12"},
		"foreach null skipped":    {"#foreach($i in $input.missing)x#end.", "."},
		"foreach restores var":    {"#set($i = 0)#foreach($i in [1..2])#end$i", "0"},
		"foreach outside vars":    {"#foreach($i in [1])#end$foreach.index", "$foreach.index"},
		"foreach first last":      {"#foreach($i in [1..3])#if($foreach.first)F#end#if($foreach.last)L#end#end", "FL"},
		"nested foreach parent":   {"#foreach($a in [1..2])#foreach($b in [1])$foreach.parent.count#end#end", "12"},
		"break outside loop":      {"a#break b", "a"},
		"jsonString":              {`"$esc.jsonString($input.quote)"`, `"He said \"hi\"\n\tbye\\"`},
		"jsonEncode":              {`$esc.jsonEncode("a""b")`, `a\"b`},
		"jsonString control":      {"$esc.jsonString(\"\x01\")", `\u0001`},
		"jsonString null":         {"$esc.jsonString($input.missing)", "$esc.jsonString($input.missing)"},
		"url form encode":         {"$esc.url($input.space)", "a+b%26c%7Ed*e"},
		"urlFormEncode":           {`$esc.urlFormEncode("é/")`, "%C3%A9%2F"},
		"uriEncode":               {"$esc.uriEncode($input.space)", "a%20b%26c~d%2Ae"},
		"esc characters":          {"$esc.d$esc.h$esc.b$esc.q$esc.s$esc.e", `$#\"'!`},
		"base64":                  {`$encoding.base64("${credentials.user}:${credentials.pass}")`, "dTpwOnc="},
		"base64 quiet null":       {"$!encoding.base64($input.missing)", ""},
		"firstFromArray":          {"$successTemplateUtils.firstFromArray($rawResult)", `{"id":1}`},
		"firstFromArray empty":    {`$successTemplateUtils.firstFromArray("[]", "{}")`, "{}"},
		"firstFromArray no dflt":  {`[$successTemplateUtils.firstFromArray("[ ]")]`, "[]"},
		"firstFromArray string":   {`$successTemplateUtils.firstFromArray('["x","y"]')`, `"x"`},
		"salesforce escReserved":  {`$salesforce.escReserved("+1 (317) 555-0100?")`, `\+1 \(317\) 555\-0100\?`},
		"math":                    {"$math.add(1, 2) $math.div(5, 2) $math.div(4, 2) $math.mul(1.5, 2) $math.max(3, $input.n)", "3 2.5 2 3.0 5"},
		"math rounding":           {"$math.round(2.5) $math.ceil(1.2) $math.floor(-1.2) $math.roundTo(2, 3.14159) $math.toInteger(\"7\")", "2 2 -2 3.14 7"},
		"math invalid":            {"$math.add(1, 'x')", "$math.add(1, 'x')"},
		"string methods":          {`$input.name.toUpperCase() $input.name.length() $input.name.replace("a", "4") $input.name.substring(1) $input.name.substring(0, 1)`, "ADA 3 Ad4 da A"},
		"string utf16":            {"$input.emoji.length() $input.emoji.substring(1, 3) $input.emoji.indexOf(\"y\")", "4 😀 3"},
		"string predicates":       {`$input.name.startsWith("A") $input.name.contains("x") $input.name.equals("Ada") $input.name.isEmpty() $input.empty.empty`, "true false true false true"},
		"trim concat":             {`$input.space.concat("  ").trim()|`, "a b&c~d*e|"},
		"toString":                {"$input.n.toString() $input.yes.toString()", "5 true"},
		"unknown method":          {"$input.name.frobnicate()", "$input.name.frobnicate()"},
		"map methods":             {`$input.nested.get("k") $input.nested.size() $input.nested.containsKey("z") $input.nested.keySet()`, "v 1 false [k]"},
		"list methods":            {"$input.list.size() $input.list.get(1) $input.list.contains(\"c\") $input.list.isEmpty()", "3 b true false"},
		"tool shadowed by vars":   {"#set($esc = 'mine')$esc", "mine"},
		"crlf after directive":    {"#if(true)\r\nx#end", "x"},
		"brace directives":        {"#{if}(true)a#{else}b#{end}c", "ac"},
		"directive space paren":   {"#if ($input.yes)y#end", "y"},
		"multiline expression":    {"#if(\n  $input.yes\n)y#end", "y"},
		"method arg reference":    {`$esc.url("{$salesforce.escReserved(${input.name})}")`, "%7BAda%7D"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := render(t, tc.src, testVars())
			if got != tc.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

func render(t *testing.T, src string, vars map[string]any) string {
	t.Helper()
	tmpl, err := Parse("test", src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	got, err := tmpl.Render(vars)
	if err != nil {
		t.Fatalf("Render(%q): %v", src, err)
	}
	return got
}

func TestRawRequest(t *testing.T) {
	t.Parallel()
	vars := testVars()
	got := render(t, "${input.rawRequest}", vars)
	var decoded map[string]any
	if err := json.Unmarshal([]byte(got), &decoded); err != nil {
		t.Fatalf("rawRequest is not JSON: %v: %s", err, got)
	}
	if decoded["name"] != "Ada" {
		t.Errorf("rawRequest = %s", got)
	}
}

func TestRenderNilVars(t *testing.T) {
	t.Parallel()
	if got := render(t, "${input.x} $!input.x $esc.url('a b')", nil); got != "${input.x}  a+b" {
		t.Errorf("got %q", got)
	}
}

func TestRenderDoesNotModifyVars(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"x": "1"}
	render(t, "#set($x = 2)#set($y = 3)#foreach($z in [1])#end$x", vars)
	if len(vars) != 1 || vars["x"] != "1" {
		t.Errorf("vars changed: %v", vars)
	}
}

func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse("concurrent", `#foreach($i in [1..50])#set($x = "$i")$x#end`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tmpl.Render(nil)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			if got, err := tmpl.Render(nil); err != nil || got != want {
				errs <- got
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent render = %q, want %q", got, want)
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		src       string
		line, col int
		msg       string
	}{
		"unclosed if":           {"a\n  #if($x)b", 2, 3, "#if without a matching #end"},
		"stray end":             {"a\nb#end", 2, 2, "#end without a matching"},
		"stray else":            {"#else", 1, 1, "#else without a matching"},
		"else after else":       {"#if(true)#else#else#end", 1, 15, "#else after #else"},
		"unclosed foreach":      {"#foreach($i in [1])", 1, 1, "#foreach without a matching #end"},
		"foreach without in":    {"#foreach($i [1])#end", 1, 1, "needs 'in'"},
		"foreach else":          {"#foreach($i in [1])#else#end", 1, 20, "#else inside #foreach"},
		"if without paren":      {"#if true", 1, 1, "#if must be followed by ("},
		"if unclosed paren":     {"#if(true", 1, 1, "missing its closing )"},
		"set without equals":    {"#set($a)", 1, 1, "needs ="},
		"set property":          {"#set($a.b = 1)", 1, 1, "only a plain $name"},
		"unclosed formal":       {"x ${input.a", 1, 3, "missing its closing }"},
		"unclosed method":       {"$a.b(1", 1, 5, "missing its closing )"},
		"bad method args":       {"$a.b(1 2)", 1, 8, "expected , or )"},
		"bad expression":        {"#if($a == )#end", 1, 11, "unexpected ')'"},
		"unterminated string":   {"#set($a = \"abc)", 1, 11, "unterminated string"},
		"unterminated comment":  {"a\n#* b", 2, 1, "unterminated #*"},
		"unterminated unparsed": {"#[[ b", 1, 1, "unterminated #[["},
		"unsupported directive": {"#macro(foo)#end", 1, 1, "#macro is not supported"},
		"error inside string":   {"#set($a = \"x\n #end\")", 2, 2, "#end without a matching"},
		"too deep":              {"#set($a = " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + ")", 1, 0, "nesting deeper"},
		"bad list":              {"#set($a = [1 2])", 1, 14, "expected , or ]"},
		"bad map":               {"#set($a = {1 2})", 1, 11, "missing its :"},
		"number out of range":   {"#set($a = 1e999)", 1, 11, "out of range"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("tmpl.vm", tc.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want *SyntaxError", tc.src, err)
			}
			if se.Template != "tmpl.vm" || se.Line != tc.line || (tc.col != 0 && se.Col != tc.col) || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q) = %v, want tmpl.vm:%d:%d: ...%s...", tc.src, err, tc.line, tc.col, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "velocity: tmpl.vm:") {
				t.Errorf("error %q does not name the template", err)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		src   string
		limit bool
		msg   string
	}{
		"substring out of range": {src: "x\n  $input.name.substring(2, 9)", msg: "test:2:3: $input.name.substring(2, 9): substring(2, 9) out of range"},
		"list get out of range":  {src: "$input.list.get(3)", msg: "list index 3 out of range"},
		"firstFromArray object":  {src: `$successTemplateUtils.firstFromArray("{}")`, msg: "not a JSON array"},
		"range too large":        {src: "#foreach($i in [0..2000000])#end", limit: true},
		"too many iterations":    {src: "#foreach($i in [1..1001])#foreach($j in [1..1000])#end#end", limit: true},
		"output too large":       {src: `#set($s = "0123456789abcdef")#foreach($i in [1..20])#set($s = "$s$s")#end$s`, limit: true},
		"too much work":          {src: `#set($s = "0123456789abcdef")#foreach($i in [1..18])#set($s = "$s$s")#end#foreach($i in [1..1000])#set($t = "$s")#end`, limit: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Parse("test", tc.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tmpl.Render(testVars())
			if err == nil {
				t.Fatalf("Render(%q) succeeded", tc.src)
			}
			if errors.Is(err, ErrLimit) != tc.limit || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Render(%q) error = %v, want limit=%v and %q", tc.src, err, tc.limit, tc.msg)
			}
		})
	}
}

func TestJavaDouble(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   float64
		want string
	}{
		"zero":      {0, "0.0"},
		"whole":     {3, "3.0"},
		"fraction":  {2.5, "2.5"},
		"small":     {0.001, "0.001"},
		"tiny":      {0.000125, "1.25E-4"},
		"large":     {1e7, "1.0E7"},
		"larger":    {12345678.9, "1.23456789E7"},
		"negative":  {-0.5, "-0.5"},
		"below 1e7": {9999999, "9999999.0"},
	}
	for name, tc := range tests {
		if got := javaDouble(tc.in); got != tc.want {
			t.Errorf("%s: javaDouble(%v) = %q, want %q", name, tc.in, got, tc.want)
		}
	}
}
