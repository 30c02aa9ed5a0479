package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Settings are a configuration as flat keys — "connections.crm.retry.max_attempts",
// "inbound.api_key.keys[0]" — and their values as text: what GET
// /admin/config shows, what a reload's diff compares, and what the digest
// is taken over. Secret values are kept, and marked, so that a diff can
// tell a rotated secret; Redacted shows none of them.
type Settings map[string]Setting

// Setting is one value of Settings.
type Setting struct {
	Value  string
	Secret bool
}

// secretFields are the fields that hold credentials, whatever their value.
var secretFields = map[string]bool{"Password": true, "Keys": true, "ClientSecret": true, "HMACKey": true, "Value": true, "EncryptionKey": true}

// Settings flattens the configuration.
func (c *Config) Settings() Settings {
	out := Settings{}
	secret := func(s string) bool { return slices.Contains(c.secrets, s) }
	flatten(reflect.ValueOf(*c), "", false, secret, out)
	return out
}

func flatten(v reflect.Value, key string, secretField bool, secret func(string) bool, out Settings) {
	join := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		out[key] = Setting{Value: x.String()}
		return
	case *url.URL:
		if x != nil {
			out[key] = Setting{Value: x.String()}
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			flatten(v.Elem(), key, secretField, secret, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				flatten(v.Field(i), join(snake(f.Name)), secretFields[f.Name], secret, out)
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			flatten(v.MapIndex(k), join(fmt.Sprint(k)), secretField, secret, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			flatten(v.Index(i), fmt.Sprintf("%s[%d]", key, i), secretField, secret, out)
		}
	default:
		s := fmt.Sprint(v.Interface())
		out[key] = Setting{Value: s, Secret: secretField || v.Kind() == reflect.String && secret(s)}
	}
}

// snake is a Go field name as the config file spells its key: BaseURL is
// base_url, HMACKey hmac_key, OAuth2 oauth2.
func snake(name string) string {
	switch name {
	case "OAuth2", "OAuth":
		return strings.ToLower(name)
	}
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Redacted returns the settings with every secret value replaced.
func (s Settings) Redacted() map[string]string {
	out := make(map[string]string, len(s))
	for k, v := range s {
		out[k] = v.show()
	}
	return out
}

func (v Setting) show() string {
	if v.Secret {
		return Redacted
	}
	return v.Value
}

// Digest identifies the settings, secrets included (a rotated secret is a
// new digest), as hex SHA-256; it reveals nothing of them.
func (s Settings) Digest() string {
	h := sha256.New()
	for _, k := range slices.Sorted(mapsKeys(s)) {
		fmt.Fprintf(h, "%q=%q\n", k, s[k].Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func mapsKeys(s Settings) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range s {
			if !yield(k) {
				return
			}
		}
	}
}

// Change is one setting a reload changes; Old or New is absent ("") for a
// setting added or removed. Secret values are redacted.
type Change struct {
	Key string `json:"key"`
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

func (c Change) String() string {
	switch {
	case c.Old == "":
		return fmt.Sprintf("+ %s = %s", c.Key, c.New)
	case c.New == "":
		return fmt.Sprintf("- %s = %s", c.Key, c.Old)
	}
	return fmt.Sprintf("~ %s: %s -> %s", c.Key, c.Old, c.New)
}

// Diff lists what changes from old to new, by key.
func Diff(old, new Settings) []Change {
	var out []Change
	for k, o := range old {
		n, ok := new[k]
		switch {
		case !ok:
			out = append(out, Change{Key: k, Old: o.show()})
		case n.Value != o.Value:
			out = append(out, Change{Key: k, Old: o.show(), New: n.show()})
		}
	}
	for k, n := range new {
		if _, ok := old[k]; !ok {
			out = append(out, Change{Key: k, New: n.show()})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Fixed are the settings a running host cannot change: the listeners and
// the HTTP server's limits, the plugins directory and sandbox, the audit
// log and tracing. A reload that changes one is refused.
var Fixed = []string{
	"listen", "admin_listen", "metrics_listen", "plugin_dir", "max_body_bytes", "read_header_timeout", "read_timeout",
	"idle_timeout", "shutdown_timeout", "shutdown_delay", "log_format", "sandbox", "sandbox_launcher", "plugin_uid",
	"plugin_gid", "plugin_start_timeout", "audit", "tracing", "cache",
}

// FixedChanges are the keys among changes that a running host cannot
// change, by their Fixed name; turning TLS on or off is one ("tls").
func FixedChanges(old, new Settings, changes []Change) []string {
	var out []string
	for _, c := range changes {
		for _, f := range Fixed {
			if (c.Key == f || strings.HasPrefix(c.Key, f+".")) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	if hasPrefix(old, "tls.") != hasPrefix(new, "tls.") {
		out = append(out, "tls")
	}
	slices.Sort(out)
	return out
}

func hasPrefix(s Settings, prefix string) bool {
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
