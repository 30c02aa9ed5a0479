package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/plugincheck"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

func pluginsCommand() *cobra.Command {
	var (
		cf     configFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List the plugins and their actions",
		Long: `Plugins starts every plugin in the plugins directory as serve would, asks each to
describe its actions, and lists them with their SHA-256 and any reason a plugin
cannot be served: the view of GET /admin/plugins. It exits with status 1 when
any plugin is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			host, err := newHost(cfg, hclog.NewNullLogger(), app.Options{})
			if err != nil {
				return err
			}
			defer host.Close()
			problems, err := host.Load(cmd.Context())
			if err != nil {
				return err
			}
			views := host.Plugins.Plugins()
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(views); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PLUGIN\tSTATE\tSHA256\tSANDBOX\tACTIONS")
				for _, v := range views {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.State, v.SHA256, sandboxSummary(v.Sandbox), strings.Join(v.Actions, ", "))
				}
				tw.Flush()
				for _, v := range views {
					if v.Error != "" {
						fmt.Fprintf(out, "\n%s: %s\n", v.Name, v.Error)
					}
					if v.Sandbox != nil && len(v.Sandbox.Missing) > 0 {
						fmt.Fprintf(out, "\n%s: sandbox without %s\n", v.Name, strings.Join(v.Sandbox.Missing, "; "))
					}
				}
			}
			if len(problems) > 0 {
				return exitError(1)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// sandboxSummary is the SANDBOX column: the mode, the user, and whether
// anything the mode asked for is missing.
func sandboxSummary(s *catalog.SandboxView) string {
	switch {
	case s == nil:
		return "-"
	case s.Mode == "off":
		return fmt.Sprintf("off, uid %d", s.UID)
	case len(s.Missing) > 0:
		return fmt.Sprintf("%s, uid %d, %d missing", s.Mode, s.UID, len(s.Missing))
	}
	return fmt.Sprintf("%s, uid %d, complete", s.Mode, s.UID)
}

func checksumCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "checksum FILE...",
		Short: "Print the config line that pins a plugin binary by SHA-256",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, path := range args {
				sum, err := catalog.FileSHA256(path)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "plugin %q { sha256 = %q }\n", filepath.Base(path), sum)
			}
			return nil
		},
	}
}

// pluginCommand groups the commands about one plugin binary.
func pluginCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Commands about one plugin binary",
	}
	cmd.AddCommand(pluginCopyCommand(), pluginCheckCommand(), pluginNewCommand())
	return cmd
}

func pluginCheckCommand() *cobra.Command {
	var (
		cf     configFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "check BINARY",
		Short: "Check that a plugin binary, in any language, works with the host",
		Long: `Check starts BINARY as the host would (in its sandbox, as the config's plugin
user, through go-plugin's handshake with AutoMTLS) and checks, printing each:
the handshake and Describe; each action against Genesys Cloud's contract rules
and the host's own checks; health; an Invoke of each action with an input its
schema accepts, within the action's budget (the call's deadline); a typed error
(the answer to an action it does not have); and a graceful shutdown. It exits
with status 1 when any check fails. --config gives the plugin block (user, sandbox, limits) of the
binary's file name.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			pc, ok := cfg.Plugins[filepath.Base(args[0])]
			if !ok {
				pc = config.DefaultPlugin()
			}
			launcher := app.Launcher(cfg, true)
			opts := plugincheck.Options{
				Process: catalog.ProcessOptions{
					StartTimeout: cfg.PluginStartTimeout, LogLevel: "warn", Capabilities: sandbox.Probe(launcher),
					GOMAXPROCS: pc.GOMAXPROCS, UID: cmp.Or(pc.UID, cfg.PluginUID), GID: cmp.Or(pc.GID, cfg.PluginGID),
				},
				Policy: sandbox.Policy{Mode: cmp.Or(pc.Sandbox, cfg.Sandbox), ReadPaths: pc.SandboxRead, Limits: pc.Limits},
				Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: cmd.ErrOrStderr()}),
			}
			checks := plugincheck.Run(cmd.Context(), args[0], opts)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(checks)
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(out, "%s %-24s %s\n", mark, c.Name, c.Detail)
				}
				if failed == 0 {
					fmt.Fprintf(out, "%s: every check passed\n", args[0])
				} else {
					fmt.Fprintf(out, "%s: %d of %d checks failed\n", args[0], failed, len(checks))
				}
			}
			if failed > 0 {
				return exitError(1)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	return cmd
}

func pluginCopyCommand() *cobra.Command {
	var (
		pins []string
		as   string
	)
	cmd := &cobra.Command{
		Use:   "copy SOURCE DIRECTORY",
		Short: "Copy a plugin binary into a plugins directory, checking its SHA-256",
		Long: `Copy writes SOURCE into DIRECTORY under its own name (or --as NAME), mode 0555, through a
temporary file and a rename, so the host never sees half a binary. With --sha256
the copy is refused, and nothing is written, unless the bytes have one of the
given hashes. It is the Helm chart's init-container fallback for clusters
without image volumes: the static switchboard binary runs in any plugin image.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sum, err := catalog.CopyPlugin(args[0], args[1], as, pins)
			if err != nil {
				return err
			}
			if as == "" {
				as = filepath.Base(args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s sha256 %s\n", filepath.Join(args[1], as), sum)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the copy's file name, which plugin blocks refer to (default: SOURCE's)")
	cmd.Flags().StringSliceVar(&pins, "sha256", nil, "accepted SHA-256 of the binary, hex (repeat or comma-separate for several)")
	return cmd
}
