// Package console is the operator console's static files: one HTML page,
// one script and one style sheet, embedded in the binary, so that the
// console needs no CDN, no font server, no network at all beyond the host's
// own admin API. The server serves them (GET /admin/console) under a
// Content-Security-Policy that admits nothing inline: the script builds
// the page, its charts (inline SVG) included, with DOM APIs only.
package console

import (
	"embed"
	"path"
)

//go:embed assets/index.html assets/console.js assets/console.css
var assets embed.FS

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// File returns one of the console's files by name (index.html,
// console.js, console.css) and its content type; ok is false for any
// other name.
func File(name string) (body []byte, contentType string, ok bool) {
	if name != path.Base(name) {
		return nil, "", false
	}
	ct, known := types[path.Ext(name)]
	if !known {
		return nil, "", false
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return nil, "", false
	}
	return b, ct, true
}
