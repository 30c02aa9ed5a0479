// Package jsonptr implements RFC 6901 JSON pointers over values decoded by
// encoding/json (map[string]any, []any, string, json.Number, float64, bool,
// nil). The host uses it to build action inputs from requests.
package jsonptr
