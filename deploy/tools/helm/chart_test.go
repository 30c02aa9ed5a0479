package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/switchboard-dev/switchboard/deploy/tools/chart"
	"github.com/switchboard-dev/switchboard/host/config"
)

const (
	secretsDir = "/run/secrets/switchboard"
	pluginDir  = "/var/lib/switchboard/plugins"
)

// The cases the chart must render: both plugin sources, default values and
// the production example.
var cases = []struct {
	name, values, kube, source string
}{
	{"default, Kubernetes 1.35", "", "1.35.0", "imageVolume"},
	{"default, Kubernetes 1.30", "", "1.30.4", "initCopy"},
	{"production, Kubernetes 1.35", chart.ProductionFile, "1.35.0", "imageVolume"},
	{"production, Kubernetes 1.32", chart.ProductionFile, "1.32.1", "initCopy"},
}

func TestChart(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals := values(t, c.values)
			lintChart(t, vals)
			r, err := chart.Render(vals, c.kube)
			if err != nil {
				t.Fatal(err)
			}
			check(t, r, c.source)
		})
	}
}

// TestOnlyFixedSettingsRollThePods: a change to the config or the pins is
// reloaded in place; one the host cannot reload (a port) changes the pod
// template, so Kubernetes rolls the pods.
func TestOnlyFixedSettingsRollThePods(t *testing.T) {
	annotation := func(extra map[string]any) string {
		t.Helper()
		r, err := chart.Render(extra, "1.35.0")
		if err != nil {
			t.Fatal(err)
		}
		return r.Deployment.Spec.Template.Annotations["checksum/fixed-config"]
	}
	base := annotation(map[string]any{})
	if base == "" {
		t.Fatal("no checksum/fixed-config annotation")
	}
	live := map[string]any{"config": "inbound {\n  api_key {\n    keys = [\"another-key-0123456789\"]\n  }\n}\n", "logLevel": "debug",
		"plugins": []any{map[string]any{"name": "echo", "sha256": strings.Repeat("a", 64)}}}
	if annotation(live) != base {
		t.Error("a reloadable change rolls the pods")
	}
	if annotation(map[string]any{"containerPort": 8081}) == base {
		t.Error("a new listen port does not roll the pods")
	}
}

// Each mistake an operator could make is refused when rendering, with a
// message that names it.
func TestChartRefusesBadValues(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"unknown key", "replicas: 3", "additional properties 'replicas' not allowed"},
		{"bad pin", "plugins: [{name: echo, sha256: abc}]", "/plugins/0/sha256"},
		{"a key the chart owns", "config: |\n  listen = \":9000\"\n", "config sets listen"},
		{"a plugin block in config", "config: |\n  plugin \"echo\" {}\n", "list the plugin under plugins"},
		{"unpinned while pins are required", "requirePinnedPlugins: true", "plugins[echo]: requirePinnedPlugins is true and it has no sha256"},
		{"a plugin twice", "plugins: [{name: echo}, {name: echo}]", "echo is listed twice"},
		{"an image without a path", "plugins: [{name: crm, image: crm@sha256:" + strings.Repeat("a", 64) + "}]", "path"},
		{"an egress rule without addresses", "networkPolicy: {enabled: true, egress: [{connection: crm, ports: [443]}]}", "cidrs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(file, []byte(c.values), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := chart.Render(values(t, file), "1.35.0")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("rendered with %q: %v, want an error with %q", c.values, err, c.want)
			}
		})
	}
}

// The check itself fails on what the API server would refuse: an unknown
// field, a duplicate field, a field in the wrong case.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nData: {a: b}\n",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
	} {
		if _, err := chart.Decode(doc); err == nil {
			t.Errorf("decoded without error:\n%s", doc)
		}
	}
}

func values(t *testing.T, file string) map[string]any {
	t.Helper()
	v, err := chart.ReadValues(file)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lintChart runs helm lint (its strict mode: warnings fail too).
func lintChart(t *testing.T, vals map[string]any) {
	t.Helper()
	linter := lint.All(chart.Dir, vals, chart.Namespace, false)
	for _, m := range linter.Messages {
		if m.Severity > support.InfoSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}

// check asserts what matters of one rendering.
func check(t *testing.T, r *chart.Rendered, source string) {
	vals := r.Values
	cfg := parseConfig(t, r.Config)
	pod := r.Deployment.Spec.Template.Spec
	host := container(t, pod.Containers, "switchboard")

	// Probes, on the routes the host serves them at, on the port it listens on.
	probes := map[string]*corev1.Probe{"startup": host.StartupProbe, "readiness": host.ReadinessProbe, "liveness": host.LivenessProbe}
	wantPath := map[string]string{"startup": "/readyz", "readiness": "/readyz", "liveness": "/healthz"}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != wantPath[name] {
			t.Errorf("%s probe %+v, want GET %s", name, p, wantPath[name])
			continue
		}
		if port := portNamed(host, p.HTTPGet.Port.String()); port != listenPort(t, cfg.Listen) {
			t.Errorf("%s probe on port %q (%d); the host listens on %s", name, p.HTTPGet.Port.String(), port, cfg.Listen)
		}
	}
	if tp := r.Service.Spec.Ports[0].TargetPort.String(); portNamed(host, tp) != listenPort(t, cfg.Listen) {
		t.Errorf("the Service sends to %q, not to the host's listen port %s", tp, cfg.Listen)
	}

	// The restricted security profile, for every container.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", psc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token the host never uses")
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s has no securityContext", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: root filesystem writable", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: privilege escalation allowed", c.Name)
		case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0:
			t.Errorf("container %s may run as root", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s capabilities %+v", c.Name, sc.Capabilities)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("container %s seccomp %+v", c.Name, sc.SeccompProfile)
		}
	}
	if host.Resources.Requests.Cpu().IsZero() || host.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", host.Resources)
	}

	// The grace period covers every phase of the host's shutdown.
	stop := int64(vals["shutdown"].(map[string]any)["pluginStopSeconds"].(float64))
	want := int64((cfg.ShutdownDelay + cfg.ShutdownTimeout).Seconds()) + stop
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g != want || stop < 3 {
		t.Errorf("terminationGracePeriodSeconds %d, want shutdown_delay %v + shutdown_timeout %v + %ds to stop plugins", ptrValue(g), cfg.ShutdownDelay, cfg.ShutdownTimeout, stop)
	}
	if cfg.ShutdownDelay == 0 {
		t.Error("shutdown_delay is 0: endpoints would be withdrawn while the host refuses connections")
	}

	// Mounts: the config read-only where --config points, TMPDIR on an
	// emptyDir, every secret read-only, every file() under a secret mount.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range host.VolumeMounts {
		mounts[m.MountPath] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	if m, ok := mounts["/etc/switchboard"]; !ok || !m.ReadOnly || volumes[m.Name].ConfigMap == nil || !slices.Contains(host.Args, "/etc/switchboard/switchboard.hcl") {
		t.Errorf("config mount %+v, args %v", m, host.Args)
	}
	tmp := env(host, "TMPDIR")
	if m, ok := mounts[tmp]; tmp == "" || !ok || m.ReadOnly || volumes[m.Name].EmptyDir == nil {
		t.Errorf("TMPDIR %q is not a writable emptyDir: %+v", tmp, m)
	}
	for _, path := range regexp.MustCompile(`file\("([^"]+)"\)`).FindAllStringSubmatch(r.Config, -1) {
		dir := filepath.Dir(path[1])
		if m, ok := mounts[dir]; !ok || !m.ReadOnly || volumes[m.Name].Secret == nil {
			t.Errorf("file(%q) is not in a read-only Secret mount", path[1])
		}
	}

	// Plugins: each file of plugin_dir comes from its image, read-only, and
	// carries its pin into the config (and into the init copy).
	if cfg.PluginDir != pluginDir {
		t.Errorf("plugin_dir %q", cfg.PluginDir)
	}
	plugins := vals["plugins"].([]any)
	if len(cfg.Plugins) != len(plugins) {
		t.Errorf("config has %d plugin blocks for %d plugins", len(cfg.Plugins), len(plugins))
	}
	pinned := 0
	for i, p := range plugins {
		p := p.(map[string]any)
		name, _ := p["name"].(string)
		var pins []string
		switch v := p["sha256"].(type) {
		case string:
			pins = []string{v}
		case []any:
			for _, e := range v {
				pins = append(pins, e.(string))
			}
		}
		pin := strings.Join(pins, ",")
		image, _ := p["image"].(string)
		path, _ := p["path"].(string)
		if image == "" {
			image, path = host.Image, "/usr/local/lib/switchboard/plugins/"+name
		}
		if pc, ok := cfg.Plugins[name]; !ok || strings.Join(pc.Pins, ",") != strings.ToLower(pin) {
			t.Errorf("plugin %s: config block %+v, want sha256 %q", name, pc, pin)
		}
		if pin != "" {
			pinned++
		}
		vol := fmt.Sprintf("plugin-%d", i)
		switch source {
		case "imageVolume":
			m, ok := mounts[pluginDir+"/"+name]
			v := volumes[vol]
			if !ok || !m.ReadOnly || m.Name != vol || "/"+m.SubPath != path || v.Image == nil || v.Image.Reference != image {
				t.Errorf("plugin %s: mount %+v of volume %+v, want %s of image %s read-only", name, m, v, path, image)
			}
		case "initCopy":
			c := container(t, pod.InitContainers, vol)
			args := strings.Join(c.Command, " ")
			if c.Image != image || !strings.Contains(args, "plugin copy --as="+name) || (pin != "") != strings.Contains(args, "--sha256="+pin) || !strings.HasSuffix(args, " "+path+" "+pluginDir) {
				t.Errorf("plugin %s: init container %s %q", name, c.Image, args)
			}
		}
	}
	if source == "initCopy" {
		if m, ok := mounts[pluginDir]; !ok || !m.ReadOnly || volumes[m.Name].EmptyDir == nil {
			t.Errorf("the copied plugins are not mounted read-only: %+v", m)
		}
	}
	if cfg.RequirePinnedPlugins {
		if pinned != len(plugins) {
			t.Errorf("require_pinned_plugins with %d of %d plugins pinned", pinned, len(plugins))
		}
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			if !strings.Contains(c.Image, "@sha256:") {
				t.Errorf("production: container %s runs an image by tag: %s", c.Name, c.Image)
			}
		}
		for _, v := range pod.Volumes {
			if v.Image != nil && !strings.Contains(v.Image.Reference, "@sha256:") {
				t.Errorf("production: volume %s mounts an image by tag: %s", v.Name, v.Image.Reference)
			}
		}
	}

	// Replicas: a disruption budget, an autoscaler on this Deployment.
	if pdb, ok := r.Objects["PodDisruptionBudget"].(*policyv1.PodDisruptionBudget); !ok || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget %+v", r.Objects["PodDisruptionBudget"])
	}
	if hpa, ok := r.Objects["HorizontalPodAutoscaler"].(*autoscalingv2.HorizontalPodAutoscaler); !ok || hpa.Spec.ScaleTargetRef.Name != r.Deployment.Name || *hpa.Spec.MinReplicas < 2 {
		t.Errorf("HorizontalPodAutoscaler %+v", r.Objects["HorizontalPodAutoscaler"])
	} else if r.Deployment.Spec.Replicas != nil {
		t.Error("the Deployment sets replicas under an autoscaler")
	}

	// Optional objects, when asked for.
	if sm, ok := r.Objects["ServiceMonitor"].(*monitoringv1.ServiceMonitor); ok {
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || portNamed(host, "metrics") != listenPort(t, cfg.MetricsListen) {
			t.Errorf("ServiceMonitor %+v; metrics_listen %q", sm.Spec.Endpoints, cfg.MetricsListen)
		}
	}
	if np, ok := r.Objects["NetworkPolicy"].(*networkingv1.NetworkPolicy); ok {
		checkEgress(t, np, vals)
	}

	if i := slices.Index(host.Args, "--watch-config"); i < 0 || i+1 >= len(host.Args) || host.Args[i+1] == "0s" {
		t.Errorf("the host does not reload changed ConfigMaps and Secrets: args %v", host.Args)
	}

	if !strings.Contains(r.Notes, "switchboard export genesys ") {
		t.Errorf("NOTES do not print the export step:\n%s", r.Notes)
	}
}

// parseConfig reads the rendered config with the host's own parser, the
// Secrets' files replaced by files in a temporary directory.
func parseConfig(t *testing.T, rendered string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	src := strings.ReplaceAll(rendered, secretsDir+"/", dir+"/")
	for _, m := range regexp.MustCompile(`file\("([^"]+)"\)`).FindAllStringSubmatch(src, -1) {
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m[1], []byte(strings.Repeat("s", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "switchboard.hcl"), []byte(src))
	if err != nil {
		t.Fatalf("the host refuses the rendered config: %v\n%s", err, rendered)
	}
	return cfg
}

// checkEgress: DNS to the cluster's resolver, then exactly the listed
// connections' addresses; no rule that allows every destination.
func checkEgress(t *testing.T, np *networkingv1.NetworkPolicy, vals map[string]any) {
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Fatal("the NetworkPolicy does not restrict egress")
	}
	var want []string
	for _, e := range vals["networkPolicy"].(map[string]any)["egress"].([]any) {
		for _, c := range e.(map[string]any)["cidrs"].([]any) {
			want = append(want, c.(string))
		}
	}
	var got []string
	for i, rule := range np.Spec.Egress {
		if len(rule.To) == 0 || len(rule.Ports) == 0 {
			t.Errorf("egress rule %d allows every destination or port: %+v", i, rule)
		}
		for _, peer := range rule.To {
			switch {
			case peer.IPBlock != nil:
				got = append(got, peer.IPBlock.CIDR)
			case i == 0 && peer.NamespaceSelector != nil && peer.PodSelector != nil:
				for _, p := range rule.Ports {
					if p.Port.IntValue() != 53 {
						t.Errorf("the DNS rule allows port %v", p.Port)
					}
				}
			default:
				t.Errorf("egress rule %d: peer %+v", i, peer)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("egress to %v, want %v", got, want)
	}
}

func container(t *testing.T, cs []corev1.Container, name string) *corev1.Container {
	t.Helper()
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

func portNamed(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return -1
}

func listenPort(t *testing.T, addr string) int32 {
	_, port, _ := strings.Cut(addr, ":")
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Errorf("listen address %q", addr)
	}
	return int32(n)
}

func env(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func ptrValue(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
