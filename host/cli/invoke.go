package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/pipeline"
)

func invokeCommand() *cobra.Command {
	var (
		cf    configFlags
		input string
		trace bool
		dev   bool
	)
	cmd := &cobra.Command{
		Use:   "invoke ACTION",
		Short: "Run one action through the same pipeline as serve, without HTTP",
		Long: `Invoke starts the plugins, runs ACTION once with the given input through the
pipeline that serve uses (mapping, input validation, plugin call, output
validation) and prints the output JSON. On failure it prints the error body that
serve would answer and exits with status 1. --trace prints each stage, with its
timing, on standard error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			body, err := readInput(input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			// Plugin failures and load problems still reach stderr.
			cfg.LogLevel = "warn"
			logger, _ := app.NewLogger(cfg)
			stderr := cmd.ErrOrStderr()
			start := time.Now()
			host, err := newHost(cfg, logger, app.Options{Dev: dev})
			if err != nil {
				return err
			}
			defer host.Close()
			if _, err := host.Load(cmd.Context()); err != nil {
				return err
			}
			call := &pipeline.Call{Action: args[0], RequestID: "invoke-" + fmt.Sprint(time.Now().UnixNano()), Body: body}
			if trace {
				fmt.Fprintf(stderr, "%-16s %9s  %s\n", "load plugins", ms(time.Since(start)), cfg.PluginDir)
				call.Trace = func(s pipeline.Stage) {
					result := "ok"
					if s.Err != nil {
						result = "FAILED: " + s.Err.Error()
					}
					fmt.Fprintf(stderr, "%-16s %9s  %s", s.Name, ms(s.Took), result)
					if s.Detail != "" {
						fmt.Fprintf(stderr, "  %s", s.Detail)
					}
					fmt.Fprintln(stderr)
				}
			}
			begin := time.Now()
			res, err := host.Pipeline.Run(cmd.Context(), call)
			if trace {
				fmt.Fprintf(stderr, "%-16s %9s\n", "total", ms(time.Since(begin)))
			}
			// The answer serve would give: errors = "data" applied.
			reply := pipeline.Answer(res, err)
			out := cmd.OutOrStdout()
			if reply.Err != nil {
				b, _ := json.Marshal(reply.Err.Body(call.RequestID))
				fmt.Fprintln(out, string(b))
				return exitError(1)
			}
			fmt.Fprintln(out, string(reply.Body))
			if reply.Code != "ok" {
				return exitError(1) // a failure answered as data
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&input, "input", "{}", "the input JSON object, @FILE to read it from a file, or @- for standard input")
	cmd.Flags().BoolVar(&trace, "trace", false, "print each stage and its timing on standard error")
	cmd.Flags().BoolVar(&dev, "dev", false, "point the genesys connection at an embedded Genesys Cloud simulator when the config gives it no credential")
	return cmd
}

// readInput resolves --input: literal JSON, @FILE or @-.
func readInput(arg string, stdin io.Reader) ([]byte, error) {
	switch {
	case arg == "@-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		return b, nil
	}
	return []byte(arg), nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}
