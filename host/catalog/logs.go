package catalog

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/go-hclog"
)

// pluginLogger is the logger go-plugin re-logs a plugin's output with. A
// plugin's log lines carry what callers sent (a plugin may log an input
// value), and go-plugin writes their message as it is: a newline in it
// would start a line of the host's log that the caller wrote. Every control
// character in messages and string values is escaped.
type pluginLogger struct{ hclog.Logger }

func escapedLogger(l hclog.Logger) hclog.Logger { return pluginLogger{l} }

func (l pluginLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, escape(msg), escapeArgs(args)...)
}
func (l pluginLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l pluginLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l pluginLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l pluginLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l pluginLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l pluginLogger) With(args ...any) hclog.Logger {
	return pluginLogger{l.Logger.With(escapeArgs(args)...)}
}
func (l pluginLogger) Named(name string) hclog.Logger {
	return pluginLogger{l.Logger.Named(escape(name))}
}
func (l pluginLogger) ResetNamed(name string) hclog.Logger {
	return pluginLogger{l.Logger.ResetNamed(escape(name))}
}

func escapeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = escape(v)
		case error:
			out[i] = escape(v.Error())
		case fmt.Stringer:
			out[i] = escape(v.String())
		default:
			out[i] = a
		}
	}
	return out
}

// escape writes control characters (newlines, escape sequences, the
// Unicode line separators) as Go escapes.
func escape(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

var _ hclog.Logger = pluginLogger{}
