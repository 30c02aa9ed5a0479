package exports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestAll(t *testing.T) {
	t.Parallel()
	all := All(t)
	for i, e := range all {
		if i > 0 && all[i-1].Name >= e.Name {
			t.Errorf("%q after %q: not in file name order", e.Name, all[i-1].Name)
		}
		if !json.Valid(e.Data) {
			t.Errorf("%s is not JSON", e.Name)
		}
		if r := Read(t, e.Name); r.Name != e.Name || !bytes.Equal(r.Data, e.Data) {
			t.Errorf("Read(%q) differs from All", e.Name)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		json string
		want any
	}{
		"integer":  {`{"n": 5}`, map[string]any{"n": json.Number("5")}},
		"fraction": {`[1.50, "x", null]`, []any{json.Number("1.50"), "x", nil}},
		"string":   {`"s"`, "s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var fromExport any
			Export{Name: name, Data: []byte(tc.json)}.Decode(t, &fromExport)
			path := filepath.Join(t.TempDir(), "v.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			var fromFile any
			DecodeFile(t, path, &fromFile)
			if !reflect.DeepEqual(fromExport, tc.want) || !reflect.DeepEqual(fromFile, tc.want) {
				t.Errorf("Decode = %#v, DecodeFile = %#v; want %#v", fromExport, fromFile, tc.want)
			}
		})
	}
}
