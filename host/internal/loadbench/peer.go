package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/host/internal/benchwork"
)

// startPeer runs the peer, Benthos, doing benchwork's work on an HTTP
// server of its own: validate the input, map the ticket, validate it,
// answer it (400 for a refused input). It returns the URL, the process's
// pid and how to stop it.
func startPeer(benthos string) (string, int, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) } // JSON strings are YAML strings
	indent := func(s string) string {
		return "        " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n        ")
	}
	cfg := fmt.Sprintf(`http:
  enabled: false
input:
  http_server:
    address: %s
    path: /ticket
    allowed_verbs: [POST]
    sync_response:
      status: '${! @status.or("200") }'
      headers:
        Content-Type: application/json
pipeline:
  threads: -1
  processors:
    - json_schema:
        schema: %s
    - mapping: |
%s
    - json_schema:
        schema: %s
    - catch:
        - mapping: |
            meta status = "400"
            root = {"status": 400, "code": "invalid", "message": error()}
output:
  sync_response: {}
logger:
  level: NONE
metrics:
  none: {}
`, addr, quote(benchwork.InputSchema), indent(benchwork.Bloblang), quote(benchwork.OutputSchema))
	dir, err := os.MkdirTemp("", "loadbench-peer-")
	if err != nil {
		return "", 0, nil, err
	}
	path := filepath.Join(dir, "benthos.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(benthos, "-c", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	url := "http://" + addr + "/ticket"
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(url, "application/json", strings.NewReader(benchwork.Body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				// The same work: a refused input is refused there too.
				bad := strings.Replace(benchwork.Body, `"C12345678"`, `"X1"`, 1)
				resp, err := http.Post(url, "application/json", strings.NewReader(bad))
				if err != nil || resp.StatusCode != 400 {
					stop()
					return "", 0, nil, fmt.Errorf("benthos took an input its schema refuses: %v %v", resp, err)
				}
				resp.Body.Close()
				return url, cmd.Process.Pid, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("benthos did not answer %s with 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
