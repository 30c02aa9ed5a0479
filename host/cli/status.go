package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/stats"
)

// errNotServed is a 404 of a route an older host, or one on its
// admin_listen address (/readyz), does not serve.
var errNotServed = errors.New("not served by this host")

// get asks the admin API for GET path and returns the body of a 200. A host
// that does not answer is an error naming the address, plus hint; a 401 says
// which credentials to give; a 404 is errNotServed; any other status is an
// error with the host's answer.
func (a *admin) get(path, hint string) ([]byte, error) {
	status, body, err := a.do(http.MethodGet, path)
	switch {
	case err != nil && status == 0:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("no host answers at %s (%v): is it running, and is that its admin API (admin_listen, else listen)?%s", a.base, err, hint)
	case err != nil:
		return nil, err
	case status == http.StatusNotFound:
		return nil, errNotServed
	case status != http.StatusOK:
		return nil, fmt.Errorf("the host at %s answered GET %s with %d: %s", a.base, path, status, bytes.TrimSpace(body))
	}
	return body, nil
}

// readyBases are where to ask GET /readyz: the admin address, then, when
// the config has an admin_listen, its listen (which serves /readyz).
func (f *adminFlags) readyBases(a *admin) ([]string, error) {
	bases := []string{a.base}
	if f.config == "" {
		return bases, nil
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return nil, err
	}
	listen := "http://" + dialable(cfg.Listen)
	if cfg.TLS != nil {
		listen = "https://" + dialable(cfg.Listen)
	}
	if listen != a.base {
		bases = append(bases, listen)
	}
	return bases, nil
}

// readiness is GET /readyz's answer.
type readiness struct {
	URL    string `json:"url"` // where it was asked
	Ready  bool   `json:"ready"`
	Status string `json:"status"` // ready, starting, stopping; unknown when no address serves /readyz
	Reason string `json:"reason,omitempty"`
}

func (a *admin) readiness(bases []string) (readiness, error) {
	for _, base := range bases {
		req, err := http.NewRequest(http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return readiness{}, err
		}
		resp, err := a.client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return readiness{}, fmt.Errorf("no host answers at %s (%v): is it running?", base, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			continue
		}
		r := readiness{URL: base + "/readyz", Ready: resp.StatusCode == http.StatusOK}
		json.Unmarshal(body, &r)
		r.Ready = resp.StatusCode == http.StatusOK // not what the body says
		if r.Status == "" {
			r.Status = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return r, nil
	}
	return readiness{Status: "unknown", Reason: "GET /readyz is not served at " + bases[0] + " (an admin_listen address serves only the admin API): give --config FILE to ask the host's listen address"}, nil
}

// configSummary is the part of GET /admin/config that status prints.
type configSummary struct {
	File       string    `json:"file"`
	Digest     string    `json:"digest"`
	LoadedAt   time.Time `json:"loadedAt"`
	LastReload *struct {
		Time    time.Time         `json:"time"`
		OK      bool              `json:"ok"`
		Error   string            `json:"error"`
		Changes []json.RawMessage `json:"changes"`
	} `json:"lastReload"`
}

// actionSummary is the part of one action of GET /admin/actions that status
// prints, in the types the host encodes it with.
type actionSummary struct {
	Name   string        `json:"name"`
	Plugin string        `json:"plugin"`
	Stats  stats.Summary `json:"stats"`
}

// connectionSummary is the part of one connection of GET /admin/connections
// that status prints.
type connectionSummary struct {
	Name    string              `json:"name"`
	Circuit string              `json:"circuit"`
	Token   *outbound.TokenView `json:"token"`
}

// hostStatus is status --json: the answers of the host, unchanged but for
// actions and connections, which are the lists inside theirs; a part the
// host does not serve is absent.
type hostStatus struct {
	Host        string          `json:"host"`
	Readiness   readiness       `json:"readiness"`
	Config      json.RawMessage `json:"config,omitempty"`
	Plugins     json.RawMessage `json:"plugins"`
	Actions     json.RawMessage `json:"actions,omitempty"`
	Connections json.RawMessage `json:"connections,omitempty"`
}

func statusCommand() *cobra.Command {
	var (
		f      adminFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running host's readiness, config, plugins, actions and connections",
		Long: `Status asks the running host's admin API (--addr, else the admin_listen or
listen of --config, else http://127.0.0.1:8080), and prints: whether it is
ready (GET /readyz; on an admin_listen address, which does not serve it, the
listen address of --config is asked), its config file, digest, when it was
loaded and how the last reload went (GET /admin/config), its plugins (GET
/admin/plugins), and, when the host serves them, each action's last 15
minutes (GET /admin/actions) and each connection's circuit and token state
(GET /admin/connections). --json prints one object holding these answers.
It exits with status 0 when the host is ready, else 1 (not ready, readiness
unknown, not answering, or credentials refused).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.admin()
			if err != nil {
				return err
			}
			a.client.Timeout = 15 * time.Second
			bases, err := f.readyBases(a)
			if err != nil {
				return err
			}
			st := hostStatus{Host: a.base}
			if st.Readiness, err = a.readiness(bases); err != nil {
				return err
			}
			optional := func(path string) ([]byte, error) {
				body, err := a.get(path, "")
				if errors.Is(err, errNotServed) {
					return nil, nil
				}
				return body, err
			}
			var views []catalog.PluginView
			if st.Plugins, views, err = a.plugins(""); err != nil {
				return err
			}
			var cfgBody, actionsBody, connectionsBody []byte
			if cfgBody, err = optional("/admin/config"); err != nil {
				return err
			}
			if actionsBody, err = optional("/admin/actions"); err != nil {
				return err
			}
			if connectionsBody, err = optional("/admin/connections"); err != nil {
				return err
			}
			st.Config = cfgBody
			var actions struct {
				Actions json.RawMessage `json:"actions"`
				list    []actionSummary
			}
			if actionsBody != nil {
				if err := json.Unmarshal(actionsBody, &actions); err != nil {
					return fmt.Errorf("the host at %s answered GET /admin/actions with: %w", a.base, err)
				}
				st.Actions = actions.Actions
				json.Unmarshal(actions.Actions, &actions.list)
			}
			var connections struct {
				Connections json.RawMessage `json:"connections"`
				list        []connectionSummary
			}
			if connectionsBody != nil {
				if err := json.Unmarshal(connectionsBody, &connections); err != nil {
					return fmt.Errorf("the host at %s answered GET /admin/connections with: %w", a.base, err)
				}
				st.Connections = connections.Connections
				json.Unmarshal(connections.Connections, &connections.list)
			}

			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "status of the host at %s (admin API)\n", a.base)
				printReadiness(out, st.Readiness)
				if cfgBody != nil {
					var c configSummary
					json.Unmarshal(cfgBody, &c)
					printConfig(out, c)
				}
				fmt.Fprintln(out, "\nplugins:")
				printPlugins(out, views)
				if actionsBody != nil {
					fmt.Fprintln(out, "\nactions (last 15 minutes):")
					printActions(out, actions.list)
				}
				if connectionsBody != nil {
					fmt.Fprintln(out, "\nconnections:")
					printConnections(out, connections.list)
				}
			}
			if !st.Readiness.Ready {
				return exitError(1)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: readiness, and the admin API's answers")
	return cmd
}

func printReadiness(out io.Writer, r readiness) {
	switch {
	case r.Ready:
		fmt.Fprintln(out, "ready:        yes")
	case r.Status == "unknown":
		fmt.Fprintf(out, "ready:        unknown: %s\n", r.Reason)
	case r.Reason != "":
		fmt.Fprintf(out, "ready:        no (%s: %s)\n", r.Status, oneLine(r.Reason))
	default:
		fmt.Fprintf(out, "ready:        no (%s)\n", r.Status)
	}
}

func printConfig(out io.Writer, c configSummary) {
	digest := c.Digest
	if len(digest) > 12 {
		digest = digest[:12]
	}
	fmt.Fprintf(out, "config:       %s, digest %s, loaded at %s\n", cmpOr(c.File, "(none: built-in defaults and flags)"), cmpOr(digest, "-"), stamp(c.LoadedAt))
	switch r := c.LastReload; {
	case r == nil:
		fmt.Fprintln(out, "last reload:  none")
	case r.OK:
		fmt.Fprintf(out, "last reload:  ok at %s, %d changes\n", stamp(r.Time), len(r.Changes))
	default:
		fmt.Fprintf(out, "last reload:  refused at %s: %s\n", stamp(r.Time), oneLine(r.Error))
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func printActions(out io.Writer, actions []actionSummary) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tPLUGIN\tREQUESTS\tERRORS\tERROR%\tP50\tP99\tCACHE HITS")
	for _, a := range actions {
		s := a.Stats
		hits := "-"
		if s.CacheLookups > 0 {
			hits = fmt.Sprintf("%.0f%%", 100*s.CacheHitRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\t%s\t%s\t%s\n", a.Name, a.Plugin, s.Requests, s.Errors, 100*s.ErrorRatio, millis(s.P50MS), millis(s.P99MS), hits)
	}
	tw.Flush()
}

func millis(v float64) string { return fmt.Sprintf("%.1fms", v) }

func printConnections(out io.Writer, conns []connectionSummary) {
	if len(conns) == 0 {
		fmt.Fprintln(out, "(none)")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTION\tCIRCUIT\tTOKEN")
	for _, c := range conns {
		token := "-"
		if t := c.Token; t != nil {
			token = t.State
			if t.State == "valid" {
				token += fmt.Sprintf(", expires in %s", (time.Duration(t.ExpiresInSeconds) * time.Second).String())
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, cmpOr(c.Circuit, "-"), token)
	}
	tw.Flush()
}

// noHostHint is what plugins adds to the error of a host that does not answer.
const noHostHint = " Without a running host, `switchboard plugins --offline` starts the plugins of the plugins directory and lists them."

// plugins is GET /admin/plugins, which every host serves on its admin API:
// a 404 means the address is not that.
func (a *admin) plugins(hint string) ([]byte, []catalog.PluginView, error) {
	body, err := a.get("/admin/plugins", hint)
	if errors.Is(err, errNotServed) {
		err = fmt.Errorf("the host at %s does not serve GET /admin/plugins (404): a host with an admin_listen serves its admin API only there; give that address as --addr, or its config as --config", a.base)
	}
	if err != nil {
		return nil, nil, err
	}
	var views []catalog.PluginView
	if err := json.Unmarshal(body, &views); err != nil {
		return nil, nil, fmt.Errorf("the host at %s answered GET /admin/plugins with what is not a list of plugins: %w", a.base, err)
	}
	return body, views, nil
}
