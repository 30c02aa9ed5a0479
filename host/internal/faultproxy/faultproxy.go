// Package faultproxy is a TCP proxy that injects network faults between the
// host and a downstream API in tests, as Shopify's toxiproxy does: latency,
// a bandwidth limit, and connection resets. Faults can be changed while
// connections are open; they apply to what the downstream sends back.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Faults are the faults applied to the downstream's answers.
type Faults struct {
	// Latency delays every chunk the downstream sends.
	Latency time.Duration
	// BytesPerSecond limits the answers' bandwidth; 0 means no limit.
	BytesPerSecond int
	// Reset closes every connection with a TCP reset as soon as the
	// downstream starts answering.
	Reset bool
}

// Proxy listens on 127.0.0.1 and forwards to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	faults Faults
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and forwards every connection to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set replaces the faults.
func (p *Proxy) Set(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

func (p *Proxy) current() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Close stops the proxy and every connection through it.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	for _, c := range []net.Conn{client, server} {
		p.track(c, true)
		defer p.track(c, false)
		defer c.Close()
	}
	done := make(chan struct{}, 2)
	go func() { // requests go through untouched
		io.Copy(server, client)
		done <- struct{}{}
	}()
	go func() {
		p.answer(client, server)
		done <- struct{}{}
	}()
	<-done
}

// answer copies the downstream's answer to the client through the faults.
func (p *Proxy) answer(client, server net.Conn) {
	buf := make([]byte, 512)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			f := p.current()
			if f.Reset {
				if tc, ok := client.(*net.TCPConn); ok {
					tc.SetLinger(0) // close with RST
				}
				client.Close()
				return
			}
			time.Sleep(f.Latency)
			if err := write(client, buf[:n], f.BytesPerSecond); err != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				client.Close()
			}
			return
		}
	}
}

// write sends b at most bps bytes per second (0: at once).
func write(c net.Conn, b []byte, bps int) error {
	if bps <= 0 {
		_, err := c.Write(b)
		return err
	}
	chunk := max(bps/10, 1)
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		time.Sleep(time.Duration(n) * time.Second / time.Duration(bps))
	}
	return nil
}
