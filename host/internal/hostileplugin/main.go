// Command hostileplugin is a plugin written as an attacker would, with the
// public SDK: its action "attack" tries, from inside the plugin process,
// every way out of the sandbox that the host's tests name, and reports for
// each whether it was allowed. Its action "callOut" makes a call through the
// host, which must keep working.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-dev/switchboard/sdk"
)

// targets is what the test tells the attacker about the machine.
type targets struct {
	Config         string   `json:"config"`         // the host's config file
	AuditLog       string   `json:"auditLog"`       // the host's audit log
	HostLog        string   `json:"hostLog"`        // the file the host logs to
	PluginDir      string   `json:"pluginDir"`      // the plugins directory
	OtherPluginDir string   `json:"otherPluginDir"` // another plugin's private directory
	OtherPluginPID int      `json:"otherPluginPid"`
	TCP            []string `json:"tcp"`      // host:port addresses: a downstream API, the host's listeners
	UDP            string   `json:"udp"`      // a host:port to send a datagram to
	Abstract       string   `json:"abstract"` // an abstract UNIX socket name a process outside listens on
}

func main() {
	if err := sdk.Serve(
		sdk.NewAction("attack").
			Description("Tries every way out of the sandbox").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				var t targets
				if err := req.Decode(&t); err != nil {
					return nil, err
				}
				return attack(t), nil
			}),
		sdk.NewAction("callOut").Uses("crm").
			Description("Calls GET /ping on the crm connection, through the host").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				resp, err := req.HTTP("crm").Get("/ping")
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return map[string]any{"status": resp.StatusCode, "body": string(body)}, nil
			}),
	); err != nil {
		fmt.Fprintln(os.Stderr, "hostileplugin:", err)
		os.Exit(1)
	}
}

// attack returns, for each attempt, "denied: <error>" or "ALLOWED: <what it got>".
func attack(t targets) map[string]string {
	host := os.Getppid() // the host started this process
	out := map[string]string{}
	try := func(name string, f func() (string, error)) {
		got, err := f()
		if err != nil {
			out[name] = "denied: " + err.Error()
		} else {
			out[name] = "ALLOWED: " + got
		}
	}
	read := func(path string) func() (string, error) {
		return func() (string, error) {
			b, err := os.ReadFile(path)
			return fmt.Sprintf("%d bytes", len(b)), err
		}
	}
	try("read host environ", read(fmt.Sprintf("/proc/%d/environ", host)))
	try("read host memory", func() (string, error) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/mem", host))
		if err != nil {
			return "", err
		}
		defer f.Close()
		return "opened", nil
	})
	try("list host descriptors", func() (string, error) {
		e, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", host))
		return fmt.Sprintf("%d entries", len(e)), err
	})
	try("read host cmdline", read(fmt.Sprintf("/proc/%d/cmdline", host)))
	try("read config", read(t.Config))
	try("read audit log", read(t.AuditLog))
	try("append to audit log", func() (string, error) {
		f, err := os.OpenFile(t.AuditLog, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", err
		}
		defer f.Close()
		_, err = f.WriteString(`{"forged":true}` + "\n")
		return "appended", err
	})
	try("read host log", read(t.HostLog))
	try("read /etc/shadow", read("/etc/shadow"))
	try("read /etc/passwd", read("/etc/passwd"))
	try("signal host", func() (string, error) { return "kill(host, 0)", syscall.Kill(host, 0) })
	try("ptrace host", func() (string, error) { return "seized", unix.PtraceSeize(host) })
	try("read host memory with process_vm_readv", func() (string, error) {
		buf := make([]byte, 16)
		_, err := unix.ProcessVMReadv(host, []unix.Iovec{{Base: &buf[0], Len: 16}}, []unix.RemoteIovec{{Base: 0x400000, Len: 16}}, 0)
		return "read", err
	})
	for _, addr := range t.TCP {
		try("tcp connect "+addr, func() (string, error) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return "", err
			}
			c.Close()
			return "connected", nil
		})
	}
	try("tcp listen", func() (string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer l.Close()
		return l.Addr().String(), nil
	})
	try("udp send", func() (string, error) {
		c, err := net.Dial("udp", t.UDP)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_, err = c.Write([]byte("exfiltrated"))
		return "sent", err
	})
	try("raw http to downstream", func() (string, error) {
		if len(t.TCP) == 0 {
			return "", errors.New("no target")
		}
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + t.TCP[0] + "/ping")
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return resp.Status, nil
	})
	try("write into plugins directory", func() (string, error) {
		path := filepath.Join(t.PluginDir, "planted")
		return path, os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755)
	})
	try("replace a plugin binary", func() (string, error) {
		f, err := os.OpenFile(filepath.Join(t.PluginDir, "echo"), os.O_WRONLY, 0)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return "opened for writing", nil
	})
	try("list another plugin's directory", func() (string, error) {
		e, err := os.ReadDir(t.OtherPluginDir)
		return fmt.Sprintf("%d entries", len(e)), err
	})
	try("create in another plugin's directory", func() (string, error) {
		path := filepath.Join(t.OtherPluginDir, "planted")
		return path, os.WriteFile(path, nil, 0o644)
	})
	try("signal another plugin", func() (string, error) {
		return "kill(other, 0)", syscall.Kill(t.OtherPluginPID, 0)
	})
	try("read another plugin's environ", read(fmt.Sprintf("/proc/%d/environ", t.OtherPluginPID)))
	try("abstract unix socket", func() (string, error) {
		c, err := net.DialTimeout("unix", "@"+t.Abstract, time.Second)
		if err != nil {
			return "", err
		}
		c.Close()
		return "connected", nil
	})
	try("list /tmp", func() (string, error) {
		e, err := os.ReadDir("/tmp")
		return fmt.Sprintf("%d entries", len(e)), err
	})
	return out
}
