package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
)

// adminFlags say how to reach a running host's admin API.
type adminFlags struct {
	addr   string
	config string
	apiKey string
}

func (f *adminFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", "", "the running host's admin API, as a URL (default: from --config, its admin_listen, else its listen)")
	cmd.Flags().StringVar(&f.config, "config", "", "the host's config file, to find its admin API and inbound API key header")
	cmd.Flags().StringVar(&f.apiKey, "api-key", "", "inbound API key, when the admin API is behind inbound auth (default: $SWITCHBOARD_API_KEY)")
}

// admin is a client of a running host's admin API.
type admin struct {
	base   string
	header string // the API key's header, with key
	key    string
	client *http.Client
}

func (f *adminFlags) admin() (*admin, error) {
	a := &admin{base: f.addr, header: config.DefaultAPIKeyHeader, key: f.apiKey, client: &http.Client{Timeout: 3 * time.Minute}}
	if a.key == "" {
		a.key = os.Getenv("SWITCHBOARD_API_KEY")
	}
	if f.config != "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return nil, err
		}
		if k := cfg.Inbound.APIKey; k != nil {
			a.header = k.Header
		}
		if a.base == "" {
			a.base = "http://" + dialable(cmpOr(cfg.AdminListen, cfg.Listen))
			if cfg.AdminListen == "" && cfg.TLS != nil {
				a.base = "https://" + dialable(cfg.Listen)
			}
		}
	}
	if a.base == "" {
		a.base = "http://127.0.0.1:8080"
	}
	a.base = strings.TrimSuffix(a.base, "/")
	return a, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dialable turns a listen address (":9090", "0.0.0.0:9090") into one to
// dial on this machine.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// do sends a request and returns the status and body; a host that does
// not answer is an error naming where it was asked.
func (a *admin) do(method, path string) (int, []byte, error) { return a.send(method, path, nil) }

// send is do with a JSON body.
func (a *admin) send(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.key != "" {
		req.Header.Set(a.header, a.key)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("asking the host at %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		err = fmt.Errorf("the host at %s refused the credentials: give --api-key (or $SWITCHBOARD_API_KEY), or use its admin_listen", a.base)
	}
	return resp.StatusCode, answer, err
}

// reloadHost asks the host for a reload (or its dry run) and prints what
// it changed; a refusal prints why and exits 1.
func reloadHost(cmd *cobra.Command, f *adminFlags, dryRun bool) error {
	a, err := f.admin()
	if err != nil {
		return err
	}
	path := "/admin/config/reload"
	if dryRun {
		path += "?dry_run=true"
	}
	status, body, err := a.do(http.MethodPost, path)
	if err != nil {
		return err
	}
	var ans struct {
		app.ReloadResult
		Message string            `json:"message"`
		Reload  *app.ReloadResult `json:"reload"`
	}
	if jerr := json.Unmarshal(body, &ans); jerr != nil {
		return fmt.Errorf("the host at %s answered %d: %s", a.base, status, bytes.TrimSpace(body))
	}
	out, res := cmd.OutOrStdout(), &ans.ReloadResult
	if ans.Reload != nil {
		res = ans.Reload
	}
	if status != http.StatusOK {
		fmt.Fprintf(cmd.ErrOrStderr(), "switchboard: %s\n", cmpOr(ans.Message, string(bytes.TrimSpace(body))))
		return exitError(1)
	}
	if len(res.Changes) == 0 {
		fmt.Fprintln(out, "no changes")
	}
	for _, c := range res.Changes {
		fmt.Fprintln(out, c)
	}
	if res.Plugins != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "switchboard: applied, but plugins could not start anew: %s\n", res.Plugins)
	}
	if !dryRun {
		fmt.Fprintf(out, "reloaded: digest %s\n", res.Digest)
	}
	return nil
}

func reloadCommand() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Reload a running host's config file (POST /admin/config/reload)",
		Long: `Reload asks the running host to read its config file again and apply it: the
same as SIGHUP, but it waits and prints what changed, or why the config was
refused (exit status 1; the config in effect stays).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return reloadHost(cmd, &f, false) },
	}
	f.register(cmd)
	return cmd
}

func configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check a config file, or see what a reload would change"}
	var dev bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a config file without serving",
		Long: `Check reads FILE as serve would, with its env() and file() secrets, and checks
everything the start checks that needs no plugin: each problem is printed with
its file and line, and the exit status is 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err == nil {
				err = app.CheckConfig(cfg, dev)
			}
			if err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintln(cmd.ErrOrStderr(), line)
				}
				return exitError(1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (digest %s)\n", args[0], cfg.Settings().Digest())
			return nil
		},
	}
	check.Flags().BoolVar(&dev, "dev", false, "check as serve --dev would (inbound authentication optional)")

	var f adminFlags
	diff := &cobra.Command{
		Use:   "diff FILE",
		Short: "Show what a reload of the running host would change, secrets redacted",
		Long: `Diff asks the running host that serves FILE for a dry run of a reload: the
host reads FILE itself, with its own environment and secret files, and says
which settings would change (a secret shows as "(redacted) -> (redacted)"),
or why it would refuse the file. Nothing is applied.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.config == "" {
				f.config = args[0]
			}
			a, err := f.admin()
			if err != nil {
				return err
			}
			status, body, err := a.do(http.MethodGet, "/admin/config")
			if err != nil {
				return err
			}
			var view app.ConfigView
			if status != http.StatusOK || json.Unmarshal(body, &view) != nil {
				return fmt.Errorf("the host at %s answered %d: %s", a.base, status, bytes.TrimSpace(body))
			}
			if !sameFile(view.File, args[0]) {
				return fmt.Errorf("the host at %s reads %q, not %s: a reload would read that file", a.base, view.File, args[0])
			}
			return reloadHost(cmd, &f, true)
		},
	}
	f.register(diff)
	cmd.AddCommand(check, diff)
	return cmd
}

// sameFile reports whether the host's config path and ours are one file.
func sameFile(host, ours string) bool {
	a, errA := os.Stat(host)
	b, errB := os.Stat(ours)
	if errA == nil && errB == nil {
		return os.SameFile(a, b)
	}
	ha, _ := filepath.Abs(host)
	oa, _ := filepath.Abs(ours)
	return ha == oa
}

func cacheCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cache", Short: "The running host's response cache"}
	var (
		f     adminFlags
		input string
		org   string
	)
	purge := &cobra.Command{
		Use:   "purge ACTION",
		Short: "Remove an action's cached answers (DELETE /admin/cache/{action})",
		Long: `Purge removes every cached answer of ACTION, in the running host's store (in
Redis, for every replica). With --input (the action's input object, as the
plugin receives it after mapping) and --org (ININ-Organization-Id), only that
entry.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.admin()
			if err != nil {
				return err
			}
			var body []byte
			if input != "" {
				if body, err = json.Marshal(map[string]any{"input": json.RawMessage(input), "organizationId": org}); err != nil {
					return fmt.Errorf("--input is not JSON: %w", err)
				}
			}
			status, out, err := a.send(http.MethodDelete, "/admin/cache/"+url.PathEscape(args[0]), body)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				fmt.Fprintf(cmd.ErrOrStderr(), "switchboard: %s\n", bytes.TrimSpace(out))
				return exitError(1)
			}
			var ans struct{ Purged int }
			json.Unmarshal(out, &ans)
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d entries purged\n", args[0], ans.Purged)
			return nil
		},
	}
	f.register(purge)
	purge.Flags().StringVar(&input, "input", "", "purge only the entry of this input (JSON object)")
	purge.Flags().StringVar(&org, "org", "", "the organization of --input's entry")
	cmd.AddCommand(purge)
	return cmd
}
