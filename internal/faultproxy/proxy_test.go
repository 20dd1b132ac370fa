package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// echoServer answers every line with itself, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through conn and reads it back.
func roundTrip(conn net.Conn, r *bufio.Reader, line string) (string, error) {
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	return got, err
}

// Traffic passes, is delayed, is refused (new connections fail at once, open ones are
// cut) and passes again after Heal, on the same address; Close leaves no goroutine.
func TestProxyFaults(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // last: after the echo server stops
	p, err := Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dial := func(t *testing.T) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, bufio.NewReader(c)
	}

	c, r := dial(t)
	if got, err := roundTrip(c, r, "one"); err != nil || got != "one\n" {
		t.Fatalf("passing: %q, %v", got, err)
	}
	p.Slow(20 * time.Millisecond) // delayed, still delivered: no timing is asserted
	if got, err := roundTrip(c, r, "two"); err != nil || got != "two\n" {
		t.Fatalf("slow: %q, %v", got, err)
	}

	p.Refuse()
	if _, err := roundTrip(c, r, "three"); err == nil {
		t.Error("an open connection still answers while refusing")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial while refusing: %v, want connection refused", err)
	}

	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	c2, r2 := dial(t)
	if got, err := roundTrip(c2, r2, "four"); err != nil || got != "four\n" {
		t.Fatalf("after Heal: %q, %v", got, err)
	}

	p.Cut()
	if _, err := roundTrip(c2, r2, "five"); err == nil {
		t.Error("a cut connection still answers")
	}
	c3, r3 := dial(t)
	if got, err := roundTrip(c3, r3, "six"); err != nil || got != "six\n" {
		t.Fatalf("a new connection after Cut: %q, %v", got, err)
	}
	p.Close()
	if _, err := roundTrip(c3, r3, "seven"); err == nil {
		t.Error("a connection still answers after Close")
	}
}
