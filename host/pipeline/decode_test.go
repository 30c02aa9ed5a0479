package pipeline

import (
	"fmt"
	"strings"
	"testing"
)

// TestDecodeObjectRefusesWhatAPluginWouldReadDifferently: keys twice, keys
// equal but for case (encoding/json in the plugin would take either), and
// numbers no schema should spend seconds on.
func TestDecodeObjectRefusesWhatAPluginWouldReadDifferently(t *testing.T) {
	t.Parallel()
	refused := map[string]string{
		`{"userId":"u-1","USERID":"admin"}`:      `the keys "userId" and "USERID" differ only in case`,
		`{"userId":"u-1","userid":"x"}`:          "differ only in case",
		`{"a":1,"a":2}`:                          "a key appears twice",
		`{"x":{"k":1,"K":2}}`:                    "at /x/K: the keys",
		`{"kelvin":1,"\u212aelvin":2}`:           "differ only in case", // U+212A KELVIN SIGN folds to k
		`{"s":1,"\u017f":2}`:                     "differ only in case", // U+017F LONG S folds to s
		`{"ms":1e1000001}`:                       "exponent beyond ±400",
		`{"ms":1E-401}`:                          "exponent beyond",
		`{"ms":1e+0000000000000000000000401}`:    "exponent beyond",
		`{"n":` + strings.Repeat("9", 101) + `}`: "101 characters",
		`{"list":[1,2,3e999999]}`:                "at /list/2",
		`{"a":"x"} {}`:                           "more data follows",
		`{"a":`:                                  "ends too soon",
		`[1]`:                                    "a JSON array, not an object",
		`null`:                                   "a JSON null, not an object",
		`{"a" 1}`:                                "malformed JSON at byte",
		"{\"a\":\"\xff\"}":                       "not valid UTF-8",
		// Past foldMapAbove keys, the map of folded keys takes over: a
		// clash with a key seen before it did, and one after.
		manyKeys(30, `"K3":0`):       `the keys "k3" and "K3" differ only in case`,
		manyKeys(30, `"\u212a29":0`): "the keys \"k29\" and \"\u212a29\" differ only in case",
	}
	for in, want := range refused {
		if _, err := DecodeObject([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeObject(%s) = %v, want an error holding %q", in, err, want)
		}
	}
	accepted := []string{
		`{"userId":"u-1","user_id":"x"}`, `{"a":{"k":1},"b":{"k":2}}`, `{"n":1e400,"m":-1.5E-400,"big":12345678901234567890123456789}`,
		`{"ß":1,"ss":2}`, `{}`, ` {"a":[{"b":null,"c":true}]} `, manyKeys(40, `"other":0`),
	}
	for _, in := range accepted {
		if _, err := DecodeObject([]byte(in)); err != nil {
			t.Errorf("DecodeObject(%s): %v", in, err)
		}
	}
}

// manyKeys is an object of n keys k0, k1, … and then last.
func manyKeys(n int, last string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	return b.String() + last + "}"
}
