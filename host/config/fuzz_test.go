package config

import (
	"os"
	"testing"
)

// FuzzParse loads arbitrary configuration text: it must never panic, and
// every failure is an error, never a half-filled config.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`listen = ":8080"`))
	f.Add([]byte("inbound {\n  basic {\n    username = \"u\"\n    password = \"0123456789abcdefg\"\n  }\n}\n"))
	f.Add([]byte("action \"a\" {\n  timeout = \"8s\"\n  mapping = { \"/userId\" = \"/data/userId\" }\n  mapping_defaults = { \"/userId\" = [1, {a = 2}] }\n}\n"))
	f.Add([]byte("connection \"genesys\" {\n  region = \"mypurecloud.ie\"\n  retry {\n    max_attempts = 3\n  }\n}\n"))
	f.Add([]byte(`plugin "echo" { sha256 = env("NOPE", "x") }`))
	f.Add([]byte("audit {\n  path = \"-\"\n}\ntracing {\n  endpoint = \"localhost:4317\"\n}\n"))
	f.Add([]byte("listen = \n"))
	f.Add([]byte("${{{"))
	os.Setenv("SB_FUZZ_VAR", "value")
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("fuzz.hcl", src)
		if err == nil && c == nil {
			t.Fatal("no config and no error")
		}
		if err != nil && c != nil {
			t.Fatal("a config with an error")
		}
	})
}
