// Package exports reads the reference Genesys Cloud data action exports
// (host/genesys/testdata/exports) and other JSON test files for the tests
// of the genesys packages.
package exports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Count is the number of reference exports.
const Count = 18

// Export is one reference export.
type Export struct {
	Name string // the file name without .json
	Data []byte // the file's content
}

// Decode decodes the export into v, numbers as json.Number.
func (e Export) Decode(t testing.TB, v any) {
	t.Helper()
	decode(t, e.Name, e.Data, v)
}

// All returns the reference exports in file name order, failing t unless
// there are Count of them.
func All(t testing.TB) []Export {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != Count {
		t.Fatalf("found %d exports, want %d", len(paths), Count)
	}
	all := make([]Export, len(paths))
	for i, path := range paths {
		all[i] = Export{Name: strings.TrimSuffix(filepath.Base(path), ".json"), Data: read(t, path)}
	}
	return all
}

// Read returns the reference export called name (its file name without
// .json).
func Read(t testing.TB, name string) Export {
	t.Helper()
	return Export{Name: name, Data: read(t, filepath.Join(dir(t), name+".json"))}
}

// DecodeFile decodes the JSON file at path into v, numbers as json.Number.
func DecodeFile(t testing.TB, path string, v any) {
	t.Helper()
	decode(t, path, read(t, path), v)
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decode(t testing.TB, name string, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// dir is the exports directory, found from the working directory (a
// package directory under go test) up to the module root.
func dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "host", "genesys", "testdata", "exports")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}
