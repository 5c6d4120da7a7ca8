package sqldtest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// LatencyProxy is a TCP proxy on loopback that delays every chunk the
// server sends back by a fixed time, as a network with that round trip
// would: requests pass at once, each response arrives delay later, and
// responses on one connection keep their order (pipelining is not
// serialised by the delay).
type LatencyProxy struct {
	Addr string // host:port to connect to instead of the upstream
	l    net.Listener
	wg   sync.WaitGroup
}

// StartLatencyProxy proxies to upstream (host:port) with delay per round
// trip, until the test ends.
func StartLatencyProxy(t testing.TB, upstream string, delay time.Duration) *LatencyProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &LatencyProxy{Addr: l.Addr().String(), l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c, upstream, delay) }()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

type chunk struct {
	b  []byte
	at time.Time
}

func (p *LatencyProxy) serve(client net.Conn, upstream string, delay time.Duration) {
	defer client.Close()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(server, client)
		server.(*net.TCPConn).CloseWrite()
	}()
	// Server to client: each chunk is stamped when read and written out
	// at stamp+delay.
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := server.Read(b)
			if n > 0 {
				chunks <- chunk{b[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.at))
		if _, err := client.Write(c.b); err != nil {
			return
		}
	}
}
