package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// net/http answers a few requests itself, before any handler runs, with a
// plain-text body: headers over http.Server.MaxHeaderBytes (431), a request
// that is not valid HTTP (400) and a transfer coding it does not know
// (501). Every other error of the API is an RFC 9457 problem, and clients
// parse them so. Listener makes these problems too: it wraps the
// connections and rewrites those canned answers, which net/http writes to
// the connection in one write with a fixed set of headers and no Date
// (handlers' answers always carry a Date), as they pass.

// cannedHeaders are the headers net/http gives its own plain-text answers
// (net/http/server.go, errorHeaders).
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// errHeaderTooLarge: the request's headers are over the server's limit.
var errHeaderTooLarge = app.ErrHeaderTooLarge

// errNotImplemented: a transfer coding the server does not know.
var errNotImplemented = app.ErrNotImplemented

// Listener returns ln with the plain-text answers net/http gives by itself
// turned into problems (application/problem+json). Serve plain HTTP from
// it: behind TLS the answers pass encrypted and are left as they are.
func Listener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return problemConn{c}, nil
}

type problemConn struct{ net.Conn }

// Write passes b on, unless it is one of net/http's canned answers.
func (c problemConn) Write(b []byte) (int, error) {
	if out, ok := rewriteCanned(b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// rewriteCanned returns the problem answer that replaces b, when b is a
// canned answer of net/http.
func rewriteCanned(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) || len(b) < 12 {
		return nil, false
	}
	head, _, ok := bytes.Cut(b, []byte(cannedHeaders))
	if !ok || bytes.Contains(head, []byte("\r\n")) {
		return nil, false // a handler's answer: more headers than the status line
	}
	status, err := strconv.Atoi(string(b[9:12]))
	if err != nil {
		return nil, false
	}
	var p Problem
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		p = problemOf(errHeaderTooLarge)
	case http.StatusNotImplemented:
		p = problemOf(errNotImplemented)
	case http.StatusBadRequest:
		p = problemOf(badRequest("", "the request is not valid HTTP/1.1"))
	default:
		return nil, false
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, false
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		p.Status, http.StatusText(p.Status), len(body), body), true
}
