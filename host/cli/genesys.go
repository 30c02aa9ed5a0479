package cli

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/emulator"
	"github.com/switchboard-dev/switchboard/host/genesys/export"
)

func exportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export actions for the platforms that call them",
	}
	cmd.AddCommand(exportGenesysCommand())
	return cmd
}

func exportGenesysCommand() *cobra.Command {
	var (
		cf             configFlags
		baseURL        string
		format         string
		customAuthFile string
	)
	cmd := &cobra.Command{
		Use:   "genesys ACTION --url BASE_URL",
		Short: "Print the Genesys Cloud data action that calls ACTION on this host",
		Long: `Export prints the web services data action Genesys Cloud imports (--format json)
or the Terraform genesyscloud_integration_action resource (--format terraform)
that calls ACTION at BASE_URL/actions/ACTION, with the action's contracts in
draft-04 form, its timeout and secure flag, and the headers of the inbound
credential the config sets up (Basic, API key or OAuth). With inbound OAuth,
the integration's customAuth action is written too: to --custom-auth-out for
JSON, in the same file for Terraform.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if baseURL == "" {
				return fmt.Errorf("--url is required: the address Genesys Cloud reaches this host at, e.g. https://switchboard.example.com")
			}
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			cfg.LogLevel = "warn"
			host, err := newHost(cfg, logger(cfg), app.Options{})
			if err != nil {
				return err
			}
			defer host.Close()
			if _, err := host.Load(cmd.Context()); err != nil {
				return err
			}
			a, ok := host.Registry.Current().Lookup(args[0])
			if !ok {
				return fmt.Errorf("no plugin in %s serves an action named %q", cfg.PluginDir, args[0])
			}
			act := export.Action{
				Name: a.Name, Description: a.Description, Input: a.InputSchemaJSON, Output: a.OutputSchemaJSON,
				Timeout: a.Timeout, Secure: a.Secure, ErrorsAsData: a.ErrorsAsData,
			}
			opts := exportOptions(cfg, baseURL)
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				action, customAuth, err := export.JSON(act, opts)
				if err != nil {
					return err
				}
				if customAuth != nil {
					if err := os.WriteFile(customAuthFile, customAuth, 0o644); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "wrote the integration's customAuth action to %s\n", customAuthFile)
				}
				_, err = out.Write(action)
				return err
			case "terraform":
				tf, err := export.Terraform(act, opts)
				if err != nil {
					return err
				}
				_, err = out.Write(tf)
				return err
			}
			return fmt.Errorf("--format %q: use json or terraform", format)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&baseURL, "url", "", "the base URL Genesys Cloud calls this host at (required)")
	cmd.Flags().StringVar(&format, "format", "json", "json or terraform")
	cmd.Flags().StringVar(&customAuthFile, "custom-auth-out", "custom-auth.json", "where to write the customAuth action, with inbound OAuth and --format json")
	return cmd
}

// exportOptions picks the inbound credential Genesys Cloud should use:
// OAuth, else an API key, else Basic.
func exportOptions(cfg *config.Config, baseURL string) export.Options {
	o := export.Options{BaseURL: strings.TrimRight(baseURL, "/")}
	switch in := cfg.Inbound; {
	case in.OAuth != nil:
		o.Auth = export.AuthOAuth
	case in.APIKey != nil:
		o.Auth, o.APIKeyHeader = export.AuthAPIKey, in.APIKey.Header
	case in.Basic != nil:
		o.Auth = export.AuthBasic
	}
	return o
}

func genesysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesys",
		Short: "Work offline with Genesys Cloud data action definitions",
	}
	cmd.AddCommand(genesysRunCommand())
	return cmd
}

func genesysRunCommand() *cobra.Command {
	var (
		input       string
		trace       bool
		credType    string
		credentials []string
		authFile    string
		baseURL     string
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run DEFINITION.json --input JSON",
		Short: "Run a data action definition as Genesys Cloud would",
		Long: `Run replays what Genesys Cloud's data action engine does with a web services
data action definition (an export): it validates the input against the input
contract, renders the URL, headers and body templates, sends the request with
the integration's credentials (Basic, User Defined, or User Defined (OAuth)
through the customAuth action given with --auth), applies the translation map
and the success template, validates the output contract and prints the output
JSON. --trace prints each step on standard error, with credentials and tokens
redacted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			def, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			action, err := emulator.Parse(def)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			body, err := readInput(input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			opts := emulator.RunOptions{
				Client:         &http.Client{Timeout: timeout},
				CredentialType: emulator.CredentialType(credType),
				Credentials:    map[string]string{},
				BaseURL:        baseURL,
			}
			for _, kv := range credentials {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--credential %q: want name=value", kv)
				}
				opts.Credentials[k] = v
			}
			if authFile != "" {
				def, err := os.ReadFile(authFile)
				if err != nil {
					return err
				}
				if opts.Auth, err = emulator.Parse(def); err != nil {
					return fmt.Errorf("%s: %w", authFile, err)
				}
			}
			stderr := cmd.ErrOrStderr()
			if trace {
				opts.Trace = func(step, detail string) { fmt.Fprintf(stderr, "%-18s %s\n", step, detail) }
			}
			out, err := action.Run(cmd.Context(), body, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "{}", "the input JSON object, @FILE, or @- for standard input")
	cmd.Flags().BoolVar(&trace, "trace", false, "print each step on standard error, credentials redacted")
	cmd.Flags().StringVar(&credType, "credential-type", "", "the integration's credential type: "+strings.Join([]string{string(emulator.BasicAuth), string(emulator.UserDefined), string(emulator.UserDefinedOAuth)}, ", ")+" (default: "+string(emulator.UserDefined)+")")
	cmd.Flags().StringArrayVar(&credentials, "credential", nil, "a credential field, name=value (repeat); e.g. userName=genesys")
	cmd.Flags().StringVar(&authFile, "auth", "", "the customAuth action definition, for "+string(emulator.UserDefinedOAuth))
	cmd.Flags().StringVar(&baseURL, "base-url", "", "send every request to this scheme://host[:port] instead of the definition's")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "HTTP timeout of each request")
	return cmd
}
