package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func decodeJSON(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

func storeDoc(t testing.TB) any {
	t.Helper()
	data, err := os.ReadFile("testdata/store.json")
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, data)
}

// TestEval covers the examples of the Jayway README on its store document
// (testdata/store.json) and the definite/indefinite rules.
func TestEval(t *testing.T) {
	t.Parallel()
	const (
		book0 = `{"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95}`
		book1 = `{"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99}`
		book2 = `{"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99}`
		book3 = `{"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}`
		books = "[" + book0 + "," + book1 + "," + book2 + "," + book3 + "]"
		bike  = `{"color": "red", "price": 19.95}`
		none  = "" // resolves nothing
	)
	tests := map[string]struct {
		path, want string
	}{
		// Jayway README examples.
		"authors of all books":     {"$.store.book[*].author", `["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"]`},
		"all authors":              {"$..author", `["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"]`},
		"all things in store":      {"$.store.*", "[" + bike + "," + books + "]"},
		"all prices in store":      {"$.store..price", `[19.95, 8.95, 12.99, 8.99, 22.99]`},
		"third book":               {"$..book[2]", "[" + book2 + "]"},
		"second to last book":      {"$..book[-2]", "[" + book2 + "]"},
		"first two books":          {"$..book[0,1]", "[" + book0 + "," + book1 + "]"},
		"books to index 2":         {"$..book[:2]", "[" + book0 + "," + book1 + "]"},
		"books 1 to 2":             {"$..book[1:2]", "[" + book1 + "]"},
		"last two books":           {"$..book[-2:]", "[" + book2 + "," + book3 + "]"},
		"books from index 2":       {"$..book[2:]", "[" + book2 + "," + book3 + "]"},
		"books with isbn":          {"$..book[?(@.isbn)]", "[" + book2 + "," + book3 + "]"},
		"cheap books":              {"$.store.book[?(@.price < 10)]", "[" + book0 + "," + book2 + "]"},
		"not expensive books":      {"$..book[?(@.price <= $['expensive'])]", "[" + book0 + "," + book2 + "]"},
		"number of books":          {"$..book.length()", "4"},
		"scanned filter":           {"$..[?(@.isbn)].title", `["Moby Dick", "The Lord of the Rings"]`},
		"everything below bicycle": {"$.store.bicycle..*", `["red", 19.95]`},
		// Definite paths: one value or nothing.
		"root":                 {"$", ""}, // checked below: the whole document
		"member":               {"$.store.bicycle.color", `"red"`},
		"bracket member":       {"$['store']['bicycle']['color']", `"red"`},
		"double quotes":        {`$["store"]["bicycle"].price`, "19.95"},
		"no leading $":         {"store.bicycle.color", `"red"`},
		"no leading $ bracket": {"['store'].bicycle.color", `"red"`},
		"dot before bracket":   {"$.['store'].['bicycle'].color", `"red"`},
		"escaped quote":        {`$['we\'ird']['a b']`, "true"},
		"index":                {"$.store.book[0].title", `"Sayings of the Century"`},
		"negative index":       {"$.store.book[-1].title", `"The Lord of the Rings"`},
		"null value is found":  {"$.nothing", "null"},
		"missing leaf":         {"$.store.bicycle.gears", none},
		"missing member":       {"$.store.car.color", none},
		"index out of range":   {"$.store.book[9]", none},
		"index out of range 2": {"$.store.book[9].title", none},
		"member of a number":   {"$.expensive.amount", none},
		"index of an object":   {"$.store.bicycle[0]", none},
		"member of an array":   {"$.store.book.title", none},
		"leaf names merge":     {"$.store.bicycle['color','price','gears']", bike},
		"length of array":      {"$.store.book.length()", "4"},
		"length of object":     {"$.store.bicycle.length()", "2"},
		"length of a string":   {"$.store.bicycle.color.length()", "null"},
		// Indefinite paths: a list, possibly empty, unless the definite
		// prefix fails.
		"missing leaf skipped":        {"$.store.book[*].isbn", `["0-553-21311-3", "0-395-19395-8"]`},
		"all leaves missing":          {"$.store.book[*].publisher", "[]"},
		"missing after wildcard":      {"$.store.*.color", `["red"]`},
		"definite prefix missing":     {"$.store.car[*]", none},
		"definite prefix wrong type":  {"$.expensive[*].x", "[]"},
		"scan after missing member":   {"$.store.car..price", none},
		"scan finds nothing":          {"$.store..isbn.nothing", "[]"},
		"filter on object":            {"$.store.bicycle[?(@.color == 'red')]", "[" + bike + "]"},
		"filter on object false":      {"$.store.bicycle[?(@.color == 'blue')]", "[]"},
		"names not at leaf":           {"$.store['bicycle','book'].price", `[19.95]`},
		"wildcard of scalar":          {"$.expensive.*", "[]"},
		"slice of object":             {"$.store.bicycle[0:1]", none},
		"negative from slice":         {"$.store.book[-2147483648:1].price", "[8.95, 12.99, 8.99, 22.99, 8.95]"}, // Jayway walks -n..0
		"negative to slice":           {"$.store.book[:-3].price", "[8.95]"},
		"lengths after wildcard":      {"$.store.*.length()", "[2, 4]"},
		"and":                         {"$.store.book[?(@.category == 'fiction' && @.price > 10)].title", `["Sword of Honour", "The Lord of the Rings"]`},
		"or":                          {`$.store.book[?(@.price > 20 || @.author == "Nigel Rees")].title`, `["Sayings of the Century", "The Lord of the Rings"]`},
		"not exists":                  {"$.store.book[?(!@.isbn)].title", `["Sayings of the Century", "Sword of Honour"]`},
		"not parenthesized":           {"$.store.book[?(!(@.price < 10 || @.isbn))].title", `["Sword of Honour"]`},
		"types never equal":           {"$.store.book[?(@.price == '8.95')]", "[]"},
		"numbers by value":            {"$.store.book[?(@.price == 8.950)].title", `["Sayings of the Century"]`},
		"exponent literal":            {"$.store.book[?(@.price > 2.2e1)].title", `["The Lord of the Rings"]`},
		"missing is not equal":        {"$.store.book[?(@.isbn != '0-553-21311-3')].title", `["Sayings of the Century", "Sword of Honour", "The Lord of the Rings"]`},
		"missing never ordered":       {"$.store.book[?(@.isbn < 'z')].title", `["Moby Dick", "The Lord of the Rings"]`},
		"string ordering":             {"$.store.book[?(@.author > 'I')].title", `["Sayings of the Century", "The Lord of the Rings"]`},
		"null literal":                {"$[?(@.nothing == null)].expensive", "[10]"},
		"boolean literal":             {"$[?(@['we\\'ird']['a b'] == true)].expensive", "[10]"},
		"root path in filter":         {"$.store.book[?($.expensive > 5)].price", "[8.95, 12.99, 8.99, 22.99]"},
		"length in filter":            {"$.store[?(@.book.length() > 3)].bicycle.color", `["red"]`},
		"spaces":                      {"$.store.book[ ?( @.price<9 ) ][ 'title' ]", `["Sayings of the Century", "Moby Dick"]`},
		"filter subpath missing prop": {"$[?(@.store.book[*].isbn)].expensive", "[]"},
		"deep scan index":             {"$..[1].title", `["Sword of Honour"]`},
		"length over leading scan":    {"$..bicycle.length()", "2"}, // Jayway counts the children of all matches
		"length per match":            {"$.store.bicycle..*.length()", "[null, null]"},
	}
	doc := storeDoc(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tc.path)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.path, err)
			}
			got, found, err := p.Eval(doc)
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.path, err)
			}
			if name == "root" {
				if !found || !reflect.DeepEqual(got, doc) {
					t.Errorf("Eval(%q) = %v, %v; want the document", tc.path, got, found)
				}
				return
			}
			if tc.want == none {
				if found {
					t.Errorf("Eval(%q) = %s, want nothing", tc.path, mustJSON(t, got))
				}
				return
			}
			if !found {
				t.Fatalf("Eval(%q) found nothing, want %s", tc.path, tc.want)
			}
			if _, isList := got.([]any); isList == p.Definite() && !strings.HasPrefix(tc.want, "[") {
				t.Errorf("Eval(%q) definite=%v but returned %T", tc.path, p.Definite(), got)
			}
			if want := decodeJSON(t, []byte(tc.want)); !reflect.DeepEqual(got, want) {
				t.Errorf("Eval(%q)\n got %s\nwant %s", tc.path, mustJSON(t, got), mustJSON(t, want))
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDefinite(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path     string
		definite bool
	}{
		"root":             {"$", true},
		"members":          {"$.a.b['c']", true},
		"index":            {"$.a[0][-1]", true},
		"leaf names":       {"$.a['b','c']", true},
		"non-leaf names":   {"$['b','c'].d", false},
		"indexes":          {"$.a[0,1]", false},
		"slice":            {"$.a[0:1]", false},
		"wildcard":         {"$.a[*]", false},
		"dot wildcard":     {"$.*", false},
		"deep scan":        {"$..a", false},
		"filter":           {"$.a[?(@.b)]", false},
		"length":           {"$.a.length()", true},
		"length over scan": {"$..a.length()", true},
		"length over list": {"$.a[*].length()", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := MustCompile(tc.path).Definite(); got != tc.definite {
				t.Errorf("Compile(%q).Definite() = %v, want %v", tc.path, got, tc.definite)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path   string
		offset int
		msg    string
	}{
		"empty":                {"  ", 0, "empty path"},
		"trailing dot":         {"$.a.", 4, "must not end with '.'"},
		"trailing scan":        {"$..", 3, "must not end with '.'"},
		"three dots":           {"$...a", 3, "unexpected '.'"},
		"unclosed bracket":     {"$.a[0", 3, "unclosed ["},
		"bad index":            {"$.a[x]", 4, `bad array index "x"`},
		"slice step":           {"$.a[0:4:2]", 4, "slice steps"},
		"empty slice":          {"$.a[:]", 4, "needs a bound"},
		"unterminated name":    {"$['a]", 2, "unterminated string"},
		"filter without paren": {"$.a[?@.b]", 5, "[?(expression)]"},
		"unclosed filter":      {"$.a[?(@.b == 1]", 14, "missing its closing )"},
		"regex":                {"$.a[?(@.b =~ /x/)]", 10, "=~ is not supported"},
		"in":                   {"$.a[?(@.b in ['x'])]", 10, "in is not supported"},
		"json literal":         {"$.a[?(@.b == [1])]", 13, "JSON literals"},
		"lone literal":         {"$.a[?(1)]", 7, "needs a comparison"},
		"other function":       {"$.a.sum()", 7, "sum() is not supported"},
		"function argument":    {"$.a.length(1)", 11, "no arguments"},
		"after length":         {"$.a.length().b", 12, "must end the path"},
		"length after scan":    {"$..length()", 11, "cannot follow '..'"},
		"junk after root":      {"$x", 1, `unexpected 'x'`},
		"space inside path":    {"$.a .b", 3, `unexpected ' '`},
		"offset without $":     {"a[", 1, "unclosed ["},
		"too deep":             {"$" + strings.Repeat("[?(@", 70) + strings.Repeat(")]", 70), 0, "nesting deeper"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tc.path)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error = %v, want *SyntaxError", tc.path, err)
			}
			if se.Path != tc.path || (tc.offset != 0 && se.Offset != tc.offset) || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Compile(%q) = %v, want offset %d and %q", tc.path, err, tc.offset, tc.msg)
			}
		})
	}
}

func TestFilterOnPrimitive(t *testing.T) {
	t.Parallel()
	_, found, err := MustCompile("$.expensive[?(@.x)]").Eval(storeDoc(t))
	if !errors.Is(err, ErrFilterOnPrimitive) || found {
		t.Errorf("Eval = %v, %v; want ErrFilterOnPrimitive", found, err)
	}
	// Past an indefinite step the same filter just matches nothing.
	got, found, err := MustCompile("$.*[?(@.x)]").Eval(storeDoc(t))
	if err != nil || !found || len(got.([]any)) != 0 {
		t.Errorf("Eval = %v, %v, %v; want [], true, nil", got, found, err)
	}
}

func TestEvalPlainFloats(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal([]byte(`{"a": [{"n": 1}, {"n": 2.5}]}`), &doc); err != nil {
		t.Fatal(err)
	}
	got, _, err := MustCompile("$.a[?(@.n > 1)].n").Eval(doc)
	if err != nil || !reflect.DeepEqual(got, []any{2.5}) {
		t.Errorf("Eval = %v, %v", got, err)
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	if got := MustCompile(" ['a'].b ").String(); got != " ['a'].b " {
		t.Errorf("String() = %q", got)
	}
}

func TestMustCompilePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustCompile did not panic")
		}
	}()
	MustCompile("$[")
}

func TestEvalConcurrent(t *testing.T) {
	t.Parallel()
	p := MustCompile("$..book[?(@.price < 10)].title")
	doc := storeDoc(t)
	want, _, _ := p.Eval(doc)
	var wg sync.WaitGroup
	bad := make(chan any, 8)
	for range 8 {
		wg.Go(func() {
			if got, _, _ := p.Eval(doc); !reflect.DeepEqual(got, want) {
				bad <- got
			}
		})
	}
	wg.Wait()
	close(bad)
	for got := range bad {
		t.Errorf("concurrent Eval = %v, want %v", got, want)
	}
}
