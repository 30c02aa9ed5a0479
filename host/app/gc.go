package app

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/hashicorp/go-hclog"
)

// ServeGCPercent is the garbage collector's target a serving host runs
// with unless GOGC says otherwise. The host's live heap is small (compiled
// schemas, caches' indexes, connection state) and most of what it
// allocates lives for one request, so a collection every 2× of the live
// heap mostly rescans the same few megabytes: 200 costs a larger heap
// between collections and buys about 5 % of throughput (make bench,
// scenarios t and g). GOMEMLIMIT caps what the larger target may use.
const ServeGCPercent = 200

// memoryLimitRatio is the share of the container's memory limit the Go
// heap may reach before the collector works harder, leaving the rest for
// stacks, the runtime and the kernel's view of the process.
const memoryLimitRatio = 0.9

// TuneGC sets the serving host's garbage collector: GOGC to ServeGCPercent
// and the soft memory limit to 90 % of the cgroup's (a container's or a
// systemd unit's MemoryMax), each only when its environment variable does
// not set it. It logs what it set. Plugins are separate processes and
// keep Go's defaults.
func TuneGC(logger hclog.Logger) {
	gogc, set := os.LookupEnv("GOGC")
	if !set {
		debug.SetGCPercent(ServeGCPercent)
		gogc = strconv.Itoa(ServeGCPercent)
	}
	limit, err := memlimit.SetGoMemLimitWithOpts(
		memlimit.WithRatio(memoryLimitRatio),
		memlimit.WithProvider(memlimit.FromCgroup),
		memlimit.WithLogger(slog.New(slog.DiscardHandler)),
	)
	switch {
	case limit > 0:
		logger.Info("garbage collector", "gogc", gogc, "memory_limit_bytes", limit)
	case err != nil:
		logger.Debug("garbage collector: no memory limit from the cgroup", "gogc", gogc, "reason", err)
	default:
		logger.Debug("garbage collector", "gogc", gogc)
	}
}
