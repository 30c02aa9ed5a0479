package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// podman runs podman as it works on these machines: runc, cgroupfs.
func podman(args ...string) *exec.Cmd {
	return exec.Command("podman", append([]string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}, args...)...)
}

// smokeImage builds the real binaries and the image once, loads it into
// podman, and returns its tag and the directory of the binaries.
func smokeImage(t *testing.T) (tag, bin string) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (Debian: apt-get install podman runc)")
	}
	imageOnce.Do(func() { imageTag, imageBin, imageErr = buildSmokeImage() })
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageTag, imageBin
}

var (
	imageOnce                   sync.Once
	imageTag, imageBin, imageWS string
	imageErr                    error
)

func buildSmokeImage() (string, string, error) {
	root, _ := filepath.Abs("../../..")
	ws, err := os.MkdirTemp("", "switchboard-smoke-")
	if err != nil {
		return "", "", err
	}
	imageWS = ws
	bin := filepath.Join(ws, "bin")
	os.MkdirAll(filepath.Join(bin, "plugins"), 0o755)
	for out, pkg := range map[string]string{"switchboard": "./host/cmd/switchboard", "switchboard-sandbox": "./host/cmd/switchboard-sandbox", "plugins/echo": "./plugins/echo", "plugins/genesys-users": "./plugins/genesys-users"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(bin, out), pkg)
		cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	tag := fmt.Sprintf("localhost/switchboard-smoke:%d", os.Getpid())
	archive := filepath.Join(ws, "image.tar")
	if _, err := build(bin, archive, tag); err != nil {
		return "", "", err
	}
	if b, err := podman("load", "-i", archive).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("podman load: %v\n%s", err, b)
	}
	return tag, bin, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if imageTag != "" {
		podman("rmi", "-f", imageTag).Run()
	}
	if imageWS != "" {
		os.RemoveAll(imageWS)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestImageRunsAsTheChartRunsIt runs the image as the Helm chart runs the
// pod — read-only root filesystem, every capability dropped,
// no-new-privileges, a non-root uid, a writable tmpfs for TMPDIR — and calls
// echo; every plugin runs in the full sandbox.
func TestImageRunsAsTheChartRunsIt(t *testing.T) {
	tag, _ := smokeImage(t)
	addr := freeAddr(t)
	const key = "smoke-key-0123456789abcdef"
	name := strings.NewReplacer("localhost/", "", ":", "-").Replace(tag)
	run := podman("run", "-d", "--name", name, "--network", "host",
		"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "65532:65532",
		"--tmpfs", "/tmp:rw,mode=1777", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"-e", "SWITCHBOARD_API_KEY="+key, tag, "serve", "--config", "/etc/switchboard/switchboard.hcl", "--listen", addr)
	if b, err := run.CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v\n%s", err, b)
	}
	t.Cleanup(func() { podman("rm", "-f", name).Run() })
	checkServing(t, name, addr, key, "/readyz")
}

// checkServing waits for the host in container name to be ready, calls
// echo, and checks that every plugin serves in its full sandbox.
func checkServing(t *testing.T, name, addr, key, readyPath string) {
	t.Helper()
	get := func(method, path, body string) (int, []byte, error) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("X-Switchboard-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _, err := get("GET", readyPath, ""); err == nil && status == 200 {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := podman("logs", name).CombinedOutput()
			t.Fatalf("the container never became ready:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, body, err := get("POST", "/actions/echo", `{"message":"from the image"}`); err != nil || status != 200 || string(body) != `{"message":"from the image"}` {
		t.Fatalf("echo: %d %s %v", status, body, err)
	}
	_, body, _ := get("GET", "/admin/plugins", "")
	var views []struct {
		Name, State string
		Sandbox     struct{ Applied, Missing []string }
	}
	if err := json.Unmarshal(body, &views); err != nil || len(views) != 2 {
		t.Fatalf("/admin/plugins: %s %v", body, err)
	}
	for _, v := range views {
		if v.State != "serving" || len(v.Sandbox.Missing) > 0 || !strings.Contains(strings.Join(v.Sandbox.Applied, ","), "seccomp") {
			t.Errorf("%s in the container: %s, sandbox %+v", v.Name, v.State, v.Sandbox)
		}
	}
}
