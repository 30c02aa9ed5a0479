// Command replicaload sends a steady load to one URL from a process of its
// own, for the host's replica test: -c workers POST -body to -url with the
// header -key-header: -key, each waiting for its answer, until it gets
// SIGTERM or -d passes. It then prints one JSON line: the answers by
// status and failure code, the transport errors, and the total.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type counts struct {
	Total    int            `json:"total"`
	OK       int            `json:"ok"`
	Failures map[string]int `json:"failures"` // "503 plugin_unavailable", "error: …"
}

func main() {
	var (
		url       = flag.String("url", "", "where to send")
		body      = flag.String("body", `{"message":"load"}`, "the request body")
		keyHeader = flag.String("key-header", "X-Switchboard-Key", "the API key's header")
		key       = flag.String("key", "", "the API key")
		workers   = flag.Int("c", 8, "workers")
		duration  = flag.Duration("d", time.Minute, "the longest the load runs")
	)
	flag.Parse()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-time.After(*duration):
		}
		close(done)
	}()
	var (
		mu sync.Mutex
		c  = counts{Failures: map[string]int{}}
		wg sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "replicaload: sending")
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, *url, strings.NewReader(*body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(*keyHeader, *key)
				resp, err := client.Do(req)
				outcome := ""
				if err != nil {
					outcome = "error: " + err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						var e struct{ Code string }
						json.Unmarshal(b, &e)
						outcome = fmt.Sprint(resp.StatusCode, " ", e.Code)
					}
				}
				mu.Lock()
				c.Total++
				if outcome == "" {
					c.OK++
				} else {
					c.Failures[outcome]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(c)
}
