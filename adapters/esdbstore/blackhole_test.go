package esdbstore

import (
	"net"
	"sync"
)

// blackhole accepts connections and never says anything.
type blackhole struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newBlackhole() (*blackhole, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &blackhole{Listener: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

func (b *blackhole) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	return b.Listener.Close()
}
