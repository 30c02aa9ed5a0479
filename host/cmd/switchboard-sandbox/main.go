// Command switchboard-sandbox is the plugin launcher of the switchboard
// host: the host starts it for each plugin process, it confines itself as
// the host's plan says and then executes the plugin's verified bytes. It
// imports only the sandbox package, so it adds about a millisecond to a
// plugin's start. It is not meant to be run by hand.
package main

import "github.com/switchboard-dev/switchboard/host/sandbox"

func main() { sandbox.Launch() }
