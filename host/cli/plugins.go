package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
)

// pluginView is one plugin as `switchboard plugins --json` shows it.
type pluginView struct {
	Name    string       `json:"name"`
	Path    string       `json:"path"`
	SHA256  string       `json:"sha256"`
	Version string       `json:"version"`
	State   string       `json:"state"` // "ok" or "refused"
	Actions []actionView `json:"actions"`
	Error   string       `json:"error,omitempty"`
}

type actionView struct {
	Name        string   `json:"name"`
	Version     string   `json:"version,omitempty"`
	Description string   `json:"description,omitempty"`
	Timeout     string   `json:"timeout"`
	Connections []string `json:"connections,omitempty"`
}

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
cannot be served. It exits with status 1 when any plugin is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			host, err := app.New(cfg, hclog.NewNullLogger())
			if err != nil {
				return err
			}
			defer host.Close()
			problems, err := host.Load(cmd.Context())
			if err != nil {
				return err
			}
			views := pluginViews(host, problems)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(views); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PLUGIN\tSTATE\tSHA256\tACTIONS")
				for _, v := range views {
					names := make([]string, len(v.Actions))
					for i, a := range v.Actions {
						names[i] = a.Name
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, v.State, v.SHA256, strings.Join(names, ", "))
				}
				tw.Flush()
				for _, v := range views {
					if v.Error != "" {
						fmt.Fprintf(out, "\n%s: %s\n", v.Name, v.Error)
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

func pluginViews(host *app.Host, problems []catalog.Problem) []pluginView {
	byName := map[string]*pluginView{}
	for _, p := range host.Catalog.Processes() {
		bin := p.Binary()
		byName[bin.Name] = &pluginView{Name: bin.Name, Path: bin.Path, SHA256: bin.SHA256, Version: p.Version(), State: "ok", Actions: []actionView{}}
	}
	for _, a := range host.Registry.Current().Actions() {
		v := byName[a.Plugin.Name]
		v.Actions = append(v.Actions, actionView{
			Name: a.Name, Version: a.Version, Description: a.Description, Timeout: a.Timeout.String(), Connections: a.Connections,
		})
	}
	for _, p := range problems {
		path := filepath.Join(host.Config.PluginDir, p.Plugin)
		sum, _ := catalog.FileSHA256(path)
		byName[p.Plugin] = &pluginView{Name: p.Plugin, Path: path, SHA256: sum, State: "refused", Actions: []actionView{}, Error: p.Err.Error()}
	}
	views := make([]pluginView, 0, len(byName))
	for _, v := range byName {
		views = append(views, *v)
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Name < views[j].Name })
	return views
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
