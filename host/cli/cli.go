// Package cli is the switchboard command line: serve, invoke, plugins,
// checksum, export, genesys, sim and version. Each command reads the config
// file, lets its flags override it, and hands the work to the host
// packages; it holds flags, not logic.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "Switchboard runs Genesys Cloud data actions as plugins",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCommand(), reloadCommand(), configCommand(), cacheCommand(), pluginsCommand(), statusCommand(), pluginCommand(), checksumCommand(), invokeCommand(), exportCommand(), genesysCommand(), simCommand(), versionCommand())
	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case errors.As(err, &exit):
		return int(exit)
	case err != nil:
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// newHost assembles a host for a command. The switchboard executable is
// also the sandbox launcher of last resort (see app.Launcher).
func newHost(cfg *config.Config, logger hclog.Logger, opts app.Options) (*app.Host, error) {
	opts.SelfLauncher = true
	return app.NewWithOptions(cfg, logger, opts)
}

// logger is the logger of a one-shot command.
func logger(cfg *config.Config) hclog.Logger {
	l, _ := app.NewLogger(cfg)
	return l
}

// exitError ends the command with a status after it has said why itself.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// configFlags are the flags shared by the commands that read the config.
type configFlags struct {
	file      string
	pluginDir string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.file, "config", "", "HCL configuration file (default: none, built-in defaults)")
	cmd.Flags().StringVar(&f.pluginDir, "plugin-dir", "", "plugins directory (overrides plugin_dir)")
}

// load reads the config file, if any, and applies the flags over it.
func (f *configFlags) load() (*config.Config, error) {
	cfg := config.Default()
	if f.file != "" {
		var err error
		if cfg, err = config.Load(f.file); err != nil {
			return nil, err
		}
	}
	if f.pluginDir != "" {
		cfg.PluginDir = f.pluginDir
	}
	return cfg, nil
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "switchboard %s (plugin protocol %d, %s)\n", app.Version(), pluginv1.ProtocolVersion, runtime.Version())
			return nil
		},
	}
}
