// Package sandbox confines plugin processes. The host plans each plugin's
// sandbox from its config and what this kernel offers (Plan); the launcher
// (Launch: the switchboard-sandbox binary, or switchboard run under that
// name) applies the plan to itself — Landlock, seccomp, no_new_privs,
// resource limits, closed descriptors — and then executes the plugin's
// sealed, verified bytes (Seal). GuardHost makes the host itself
// unreadable to processes of its own user.
//
// It is internal to the host. The launcher needs only this package, so it
// starts in about a millisecond; keep its imports to the standard library,
// golang.org/x/sys and the two sandboxing libraries.
package sandbox
