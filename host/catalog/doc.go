// Package catalog runs the plugins: it finds the binaries in the plugins
// directory, starts each in its sandbox as go-plugin processes and keeps
// them serving. Three parts, one file each:
//
//   - load.go, the strict load sequence of one plugin: verify (pin, file
//     permissions, sealed copy) → start → handshake → describe → grants →
//     contract rules → compile → register; any failure stops the plugin,
//     says why, and reports a failed cleanup beside the cause.
//   - supervisor.go, the Supervisor: an actor that owns every plugin's
//     state and handles typed events (file changed, file settled, launched,
//     exited, health check due or failed, restart due, reload asked) in one
//     switch on one goroutine, behind a small process interface and an
//     injectable clock; claims to action names are settled there.
//   - pool.go, what a registered action invokes: the processes of one
//     plugin version, round robin, with restart_wait and max_concurrency.
//
// views.go holds the states and views the admin API shows; wire.go is the
// host's one conversion between protobuf and host types.
package catalog
