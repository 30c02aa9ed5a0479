package cli

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/mod/semver"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/sdk/python"
)

//go:embed all:scaffold
var scaffolds embed.FS

// scaffold is what the templates are filled with.
type scaffold struct {
	Name       string // the plugin's file name
	Action     string // its action's name
	Module     string // the Go module path
	SDKVersion string // the switchboard module version required
	Replace    string // a local switchboard checkout, for unreleased builds
}

func pluginNewCommand() *cobra.Command {
	var (
		lang, dir, module, replace string
		tidy                       bool
	)
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Write a new plugin, with a test that passes as written",
		Long: `New writes a plugin named NAME into DIR/NAME: one action (NAME in camel case)
with its input and output schemas, a typed error, request-scoped logging, and a
test that passes as written. In Go (the default) the test runs the action as
the host does (sdktest, with the host's own checks); --replace points the module
at a local switchboard checkout (needed while this switchboard is not a tagged
release). In Python (--lang python) the SDK is vendored in switchboard/, the
test is a unittest, and ./build.sh makes the one-file zipapp the host runs.
Build it, copy it into a running host's plugins directory, and the host serves
it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			action := camel(name)
			if action == "" || !unicode.IsLetter(rune(name[0])) || strings.ContainsAny(name, "/\\ ") || strings.HasPrefix(name, ".") {
				return fmt.Errorf("%q: a plugin name starts with a letter and holds letters, digits, '-', '_' and '.'", name)
			}
			target := filepath.Join(dir, name)
			if _, err := os.Stat(target); err == nil {
				return fmt.Errorf("%s exists: nothing written", target)
			}
			switch lang {
			case "python":
				if err := writeScaffold(target, "scaffold/python", scaffold{Name: name, Action: action}); err != nil {
					return err
				}
				if err := vendorPythonSDK(target); err != nil {
					return err
				}
				if err := os.Chmod(filepath.Join(target, "build.sh"), 0o755); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (action %s)\nnext: cd %s && /usr/bin/python3 -m unittest -v && ./build.sh\n", target, action, target)
				return nil
			case "go":
			default:
				return fmt.Errorf("--lang %q: go or python", lang)
			}
			s := scaffold{Name: name, Action: action, Module: module, SDKVersion: app.Version(), Replace: replace}
			if s.Module == "" {
				s.Module = "example.com/plugins/" + name
			}
			if !semver.IsValid(s.SDKVersion) {
				s.SDKVersion = "v0.0.0"
				if s.Replace == "" {
					return fmt.Errorf("this switchboard (%s) is not a tagged release: give --replace with the path of its source checkout", app.Version())
				}
			}
			if s.Replace != "" {
				abs, err := filepath.Abs(s.Replace)
				if err != nil {
					return err
				}
				s.Replace = abs
			}
			if err := writeScaffold(target, "scaffold/go", s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (action %s)\n", target, action)
			if tidy {
				c := exec.Command("go", "mod", "tidy")
				c.Dir, c.Stdout, c.Stderr = target, cmd.ErrOrStderr(), cmd.ErrOrStderr()
				if err := c.Run(); err != nil {
					return fmt.Errorf("go mod tidy in %s: %w (the files are written; run it again there)", target, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: cd %s && go test ./... && CGO_ENABLED=0 go build -trimpath -o %s .\n", target, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "go", "the plugin's language: go or python")
	cmd.Flags().StringVar(&dir, "dir", ".", "where to write NAME/")
	cmd.Flags().StringVar(&module, "module", "", "the Go module path (default example.com/plugins/NAME)")
	cmd.Flags().StringVar(&replace, "replace", "", "a local switchboard checkout the module uses instead of a release")
	cmd.Flags().BoolVar(&tidy, "tidy", true, "run go mod tidy afterwards (fetches the dependencies)")
	return cmd
}

// writeScaffold renders every template of dir into target.
func writeScaffold(target, dir string, s scaffold) error {
	entries, err := scaffolds.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		t, err := template.ParseFS(scaffolds, dir+"/"+e.Name())
		if err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(target, strings.TrimSuffix(e.Name(), ".tmpl")), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if err := t.Execute(f, s); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// vendorPythonSDK copies the Python SDK into target/switchboard, as the
// zipapp the plugin builds must hold it.
func vendorPythonSDK(target string) error {
	return fs.WalkDir(python.SDK, "switchboard", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(target, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := python.SDK.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// camel is an action name made of a plugin name: crm-sync is crmSync.
func camel(name string) string {
	var b strings.Builder
	up := false
	for _, r := range name {
		switch {
		case r == '-' || r == '_' || r == '.':
			up = b.Len() > 0
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if up {
				r, up = unicode.ToUpper(r), false
			}
			b.WriteRune(r)
		default:
			return ""
		}
	}
	return b.String()
}
