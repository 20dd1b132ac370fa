// Package faultproxy is a TCP proxy on 127.0.0.1 for fault drills: put in front of a
// server (PostgreSQL), it passes traffic through, delays it (a slow database), or refuses
// connections and cuts the open ones (a database that went away), switched at run time.
package faultproxy

import (
	"net"
	"sync"
	"time"
)

// Proxy forwards connections made to Addr to its target.
type Proxy struct {
	target string
	addr   string
	closed chan struct{}
	wg     sync.WaitGroup // the accept loop and every connection's copiers

	mu       sync.Mutex
	ln       net.Listener // nil while refusing
	delay    time.Duration
	conns    map[net.Conn]struct{}
	isClosed bool
}

// Start listens on a free loopback port and forwards to target (host:port).
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port: give it to the client instead of the target's.
func (p *Proxy) Addr() string { return p.addr }

// Slow delays every chunk of traffic, both ways, by d, on open connections and new ones.
func (p *Proxy) Slow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Refuse stops listening, so that connecting fails at once (connection refused), and
// cuts every open connection, as a database that went away does.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	p.cutLocked()
}

// Cut closes every open connection; new ones are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

// Heal passes traffic through again undelayed, listening again on the same address
// after Refuse.
func (p *Proxy) Heal() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = 0
	if p.ln != nil || p.isClosed {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serveLocked(ln)
	return nil
}

// Close stops the proxy, closes its connections and waits for its goroutines to end.
func (p *Proxy) Close() {
	p.mu.Lock()
	if !p.isClosed {
		p.isClosed = true
		close(p.closed)
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		p.cutLocked()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) cutLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed: Refuse or Close
			}
			p.handle(c)
		}
	}()
}

// handle dials the target for one client connection and copies both ways.
func (p *Proxy) handle(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close() // the target is down: the client sees its connection end
		return
	}
	if !p.track(client, server) {
		return
	}
	p.wg.Add(2)
	go p.pipe(server, client)
	go p.pipe(client, server)
}

// track registers a connection pair, or closes it when the proxy is closed or refusing.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed || p.ln == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst, each chunk after the delay in force when it was read; at the
// end it closes both, so that the other direction ends too.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.forget(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 && !p.sleep(d) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // the end of the stream, or a connection cut
		}
	}
}

// sleep waits d, or less when the proxy closes (false then).
func (p *Proxy) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.closed:
		return false
	}
}

func (p *Proxy) forget(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}
