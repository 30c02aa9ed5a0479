package sdk

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestWatchParent(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		ppid     int
		wantStop bool
	}{
		"parent gone":  {ppid: -1, wantStop: true},
		"parent there": {ppid: os.Getppid(), wantStop: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*parentPollInterval)
			defer cancel()
			stopped := make(chan struct{})
			returned := make(chan struct{})
			go func() {
				defer close(returned)
				watchParent(ctx, tc.ppid, func() { close(stopped) }, hclog.NewNullLogger())
			}()
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatal("watchParent did not return when its context was done")
			}
			select {
			case <-stopped:
				if !tc.wantStop {
					t.Error("stopped while the parent is there")
				}
			default:
				if tc.wantStop {
					t.Error("did not stop when the parent was gone")
				}
			}
		})
	}
}

func TestErrorLog(t *testing.T) {
	t.Parallel()
	l := &errorLog{Logger: hclog.NewNullLogger()}
	if got := l.last(); got != "it logged no error" {
		t.Errorf("last = %q", got)
	}
	l.Error("plugin init error", "error", "no such directory")
	if got := l.last(); got != "plugin init error error=no such directory" {
		t.Errorf("last = %q", got)
	}
}
