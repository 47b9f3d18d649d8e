package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// What net/http answers by itself, before any handler, is a problem like
// every other error: headers over the limit (431, plain text before),
// a request that is not HTTP (400), an unknown transfer coding (501).
// Handlers' answers pass untouched, plain text included.
func TestListenerProblems(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			io.WriteString(w, "plain from a handler")
		}),
		MaxHeaderBytes:    4 << 10,
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(Listener(ln))
	defer srv.Close()
	send := func(raw string) *http.Response {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, tc := range []struct {
		name, raw string
		status    int
		code      string
	}{
		{"oversized headers", "GET /v1/units HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431, "headers_too_large"},
		{"not HTTP", "HELLO\r\n\r\n", 400, "invalid_request"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, "invalid_request"},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zip\r\n\r\n", 501, "not_implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(tc.raw)
			defer resp.Body.Close()
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				p.Status != tc.status || p.Code != tc.code || p.Type != problemTypeBase+tc.code || p.Title == "" || p.Errors == nil {
				t.Errorf("%d %v %+v; want %d %s as a problem", resp.StatusCode, resp.Header, p, tc.status, tc.code)
			}
		})
	}
	resp := send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "plain from a handler" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("a handler's answer = %d %v %q", resp.StatusCode, resp.Header, b)
	}
}
