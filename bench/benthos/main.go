// Command benthos is the peer `make bench` measures Switchboard against:
// Benthos (github.com/redpanda-data/benthos/v4, MIT core) with its io,
// pure and pure/extended components, in a module of its own so that it is
// never a dependency of Switchboard's. It runs the config it is given
// (-c), as the benthos command does.
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure/extended"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
