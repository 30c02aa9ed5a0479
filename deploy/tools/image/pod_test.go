package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchboard-dev/switchboard/deploy/tools/chart"
)

// TestChartPodRuns runs the pod exactly as the Helm chart renders it for a
// cluster without image volumes, with podman doing the kubelet's part: the
// init containers copy the pinned plugins with `switchboard plugin copy`
// into an emptyDir, then the host starts with that directory mounted
// read-only (its files owned by the pod's user: accepted because nobody
// can change them), the config from the ConfigMap, the API key from the
// Secret's file, TMPDIR on an emptyDir — and answers echo on the probe's
// route, every plugin in the full sandbox. A pin that does not match stops
// the pod in its init container.
func TestChartPodRuns(t *testing.T) {
	tag, bin := smokeImage(t)
	repo, version, _ := strings.Cut(tag[len("localhost/"):], ":")
	addr, metrics := freeAddr(t), freeAddr(t)
	pin := func(name string) string {
		b, err := os.ReadFile(filepath.Join(bin, "plugins", name))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	vals := map[string]any{
		"image":                map[string]any{"repository": "localhost/" + repo, "tag": version},
		"pluginSource":         "initCopy",
		"requirePinnedPlugins": true,
		"containerPort":        port(addr),
		"metrics":              map[string]any{"port": port(metrics)},
		"plugins": []any{
			map[string]any{"name": "echo", "sha256": pin("echo")},
			map[string]any{"name": "genesys-users", "sha256": pin("genesys-users"), "config": `connections = ["genesys"]`},
		},
	}
	r, err := chart.Render(vals, "1.32.0")
	if err != nil {
		t.Fatal(err)
	}
	const key = "pod-key-0123456789abcdef0123"
	k := newKubelet(t, r, map[string]string{"api-key": key})
	for _, c := range r.Deployment.Spec.Template.Spec.InitContainers {
		if out, err := k.run(c, "--rm").CombinedOutput(); err != nil {
			t.Fatalf("init container %s: %v\n%s", c.Name, err, out)
		}
	}
	host := r.Deployment.Spec.Template.Spec.Containers[0]
	name := fmt.Sprintf("switchboard-pod-%d", os.Getpid())
	if out, err := k.run(host, "-d", "--name", name).CombinedOutput(); err != nil {
		t.Fatalf("container %s: %v\n%s", host.Name, err, out)
	}
	t.Cleanup(func() { podman("rm", "-f", name).Run() })
	checkServing(t, name, addr, key, host.ReadinessProbe.HTTPGet.Path)

	// Another build of echo under the same pin: the init container refuses it.
	vals["plugins"] = []any{map[string]any{"name": "echo", "sha256": strings.Repeat("0", 64)}}
	r, err = chart.Render(vals, "1.32.0")
	if err != nil {
		t.Fatal(err)
	}
	k = newKubelet(t, r, map[string]string{"api-key": key})
	init := r.Deployment.Spec.Template.Spec.InitContainers
	k.run(init[0], "--rm").Run()
	out, err := k.run(init[1], "--rm").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not one of the pinned") {
		t.Fatalf("an init copy against another pin: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(k.dirs["plugins"]); len(entries) != 0 {
		t.Errorf("a refused copy left %v", entries)
	}
}

func port(addr string) int {
	var p int
	fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &p)
	return p
}

// kubelet is what the test needs of one: a directory per volume of the
// pod, and podman runs of its containers with their mounts, user and
// security context.
type kubelet struct {
	t    *testing.T
	dirs map[string]string // volume name → directory
}

func newKubelet(t *testing.T, r *chart.Rendered, secretValues map[string]string) *kubelet {
	k := &kubelet{t: t, dirs: map[string]string{}}
	pod := r.Deployment.Spec.Template.Spec
	gid := int(*pod.SecurityContext.FSGroup)
	for _, v := range pod.Volumes {
		dir := t.TempDir()
		k.dirs[v.Name] = dir
		switch {
		case v.EmptyDir != nil:
			// fsGroup: the pod's group owns it.
			os.Chown(dir, 0, gid)
			os.Chmod(dir, 0o2775)
		case v.ConfigMap != nil:
			for name, data := range r.ConfigMap.Data {
				os.WriteFile(filepath.Join(dir, name), []byte(data), 0o444)
			}
		case v.Secret != nil:
			// Every key the config reads from this Secret's mount.
			for _, m := range regexp.MustCompile(`file\("/run/secrets/switchboard/([^/"]+)/([^"]+)"\)`).FindAllStringSubmatch(r.Config, -1) {
				if "secret-"+m[1] != v.Name {
					continue
				}
				value, ok := secretValues[m[2]]
				if !ok {
					value = strings.Repeat("s", 32)
				}
				f := filepath.Join(dir, m[2])
				os.WriteFile(f, []byte(value+"\n"), 0o440)
				os.Chown(f, 0, gid)
			}
		default:
			t.Fatalf("volume %s: a kind this test cannot provide", v.Name)
		}
	}
	return k
}

// run is the podman command that runs container c as the kubelet would.
func (k *kubelet) run(c corev1.Container, extra ...string) *exec.Cmd {
	sc := c.SecurityContext
	args := append([]string{"run"}, extra...)
	args = append(args, "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"--user", fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup))
	if *sc.ReadOnlyRootFilesystem {
		args = append(args, "--read-only")
	}
	if !*sc.AllowPrivilegeEscalation {
		args = append(args, "--security-opt", "no-new-privileges")
	}
	for _, d := range sc.Capabilities.Drop {
		args = append(args, "--cap-drop", string(d))
	}
	for _, e := range c.Env {
		args = append(args, "-e", e.Name+"="+e.Value)
	}
	for _, m := range c.VolumeMounts {
		src := k.dirs[m.Name]
		if src == "" {
			k.t.Fatalf("container %s mounts an unknown volume %s", c.Name, m.Name)
		}
		opt := ""
		if m.ReadOnly {
			opt = ":ro"
		}
		args = append(args, "-v", filepath.Join(src, m.SubPath)+":"+m.MountPath+opt)
	}
	if len(c.Command) > 0 {
		args = append(args, "--entrypoint", c.Command[0])
	}
	args = append(args, c.Image)
	if len(c.Command) > 1 {
		args = append(args, c.Command[1:]...)
	}
	return podman(append(args, c.Args...)...)
}
