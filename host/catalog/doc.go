// Package catalog finds the plugin binaries in the plugins directory, checks
// them, starts each as a go-plugin process, asks it to describe its actions
// and turns those into registry actions. Loading is a fixed, strict sequence:
// discover → verify checksum → start → handshake → describe → compile
// schemas → register; any failure stops that plugin and says why.
package catalog
