package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
		f         adminFlags
		pluginDir string
		offline   bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List the running host's plugins (GET /admin/plugins), or --offline a listing of the plugins directory",
		Long: `Plugins asks the running host's admin API (--addr, else the admin_listen or
listen of --config, else http://127.0.0.1:8080) for GET /admin/plugins and
lists its plugins: state, version, PIDs, restarts, sandbox, SHA-256 and whether
it is pinned, and the last error. The first line says which host answered.
--json prints the API's JSON unchanged. It exits with status 1 when the host
does not answer, refuses the credentials, or has a plugin refused or failed.

With --offline it asks no host: it starts every plugin in the plugins
directory (--plugin-dir, else the plugin_dir of --config) as serve would, asks
each to describe its actions, lists them, and stops them again: the states and
PIDs it prints are those of these temporary processes, which have exited when
it prints. It exits with status 1 when any plugin is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if offline {
				return offlinePlugins(cmd, configFlags{file: f.config, pluginDir: pluginDir}, asJSON)
			}
			if pluginDir != "" {
				return fmt.Errorf("--plugin-dir is for --offline: the running host lists the plugins of its own plugin directory")
			}
			a, err := f.admin()
			if err != nil {
				return err
			}
			a.client.Timeout = 15 * time.Second
			body, views, err := a.plugins(noHostHint)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				out.Write(body)
			} else {
				fmt.Fprintf(out, "plugins of the host at %s (admin API)\n", a.base)
				printPlugins(out, views)
			}
			for _, v := range views {
				if v.State == catalog.StateRefused || v.State == catalog.StateFailed {
					return exitError(1)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Lookup("config").Usage = "the host's config file, to find its admin API and inbound API key header; with --offline, the config to start the plugins with"
	cmd.Flags().StringVar(&pluginDir, "plugin-dir", "", "with --offline: the plugins directory (overrides plugin_dir)")
	cmd.Flags().BoolVar(&offline, "offline", false, "ask no host: start temporary copies of the plugins, list them, stop them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON only: the admin API's answer unchanged (with --offline, the same shape)")
	cmd.MarkFlagsMutuallyExclusive("offline", "addr")
	cmd.MarkFlagsMutuallyExclusive("offline", "api-key")
	return cmd
}

// offlinePlugins is plugins --offline: it loads the plugins of the config's
// directory in a host of its own, stops them, and lists what they were.
func offlinePlugins(cmd *cobra.Command, cf configFlags, asJSON bool) error {
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	host, err := newHost(cfg, hclog.NewNullLogger(), app.Options{})
	if err != nil {
		return err
	}
	problems, err := host.Load(cmd.Context())
	views := host.Plugins.Plugins()
	host.Close()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "plugins loaded from %s for this listing; these processes have exited (--offline: no running host was asked)\n", cfg.PluginDir)
		printPlugins(out, views)
	}
	if len(problems) > 0 {
		return exitError(1)
	}
	return nil
}

// printPlugins writes the plugins table, and under it each sandbox that
// lacks something.
func printPlugins(out io.Writer, views []catalog.PluginView) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tSTATE\tVERSION\tPID\tRESTARTS\tSANDBOX\tSHA256\tACTIONS\tLAST ERROR")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", v.Name, v.State, cmpOr(v.Version, "-"), pidsOf(v), v.Restarts,
			sandboxSummary(v.Sandbox), shaSummary(v), cmpOr(strings.Join(v.Actions, ","), "-"), cmpOr(oneLine(v.Error), "-"))
	}
	tw.Flush()
	for _, v := range views {
		if v.Sandbox != nil && len(v.Sandbox.Missing) > 0 {
			fmt.Fprintf(out, "%s: sandbox without %s\n", v.Name, strings.Join(v.Sandbox.Missing, "; "))
		}
	}
}

// pidsOf is the PID column: every process, comma-separated; "-" when none runs.
func pidsOf(v catalog.PluginView) string {
	pids := v.PIDs
	if len(pids) == 0 && v.PID != 0 {
		pids = []int{v.PID}
	}
	if len(pids) == 0 {
		return "-"
	}
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// shaSummary is the SHA256 column: its first 12 hex digits, and whether the
// config pins it.
func shaSummary(v catalog.PluginView) string {
	sum := cmpOr(v.SHA256, "-")
	if len(sum) > 12 {
		sum = sum[:12]
	}
	if v.Pinned {
		return sum + " pinned"
	}
	return sum + " unpinned"
}

// oneLine makes an error fit on a table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

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
