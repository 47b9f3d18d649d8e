package jwtauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// In production the keys come from an OpenID Connect issuer: go-oidc
// discovers it (the discovery document must name the same issuer), fetches
// its key set and caches it, fetching it again when a token names a key ID
// it does not hold (key rotation). The one thing added here is a bound on
// those fetches: go-oidc fetches again for every unknown key ID, so tokens
// with made-up key IDs could make the server hammer the issuer; the HTTP
// client go-oidc is given answers a repeat of a key-set fetch within
// MinRefresh from the last answer.

// OIDCConfig configures the discovery of an OIDC issuer.
type OIDCConfig struct {
	// Issuer is the issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration" and must name the same
	// issuer. Required.
	Issuer string
	// Client fetches the documents (default: a client with a 10 s timeout).
	Client *http.Client
	// MinRefresh is the least time between two fetches of the key set
	// (default 1 minute).
	MinRefresh time.Duration
	// Now is the clock of MinRefresh (default time.Now).
	Now func() time.Time
}

// Discover fetches the issuer's discovery document and returns the
// provider, whose key set verifies its tokens (Config.Provider) and whose
// endpoints the dashboard's code flow uses.
func Discover(ctx context.Context, cfg OIDCConfig) (*oidc.Provider, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwtauth: OIDC issuer is required")
	}
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, fmt.Errorf("jwtauth: OIDC issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.Client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client := *cfg.Client
	client.Transport = &boundedFetches{next: base, min: cfg.MinRefresh, now: cfg.Now, last: map[string]fetched{}}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, &client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: discover %s: %w", cfg.Issuer, err)
	}
	return p, nil
}

// maxDocument bounds a fetched document.
const maxDocument = 1 << 20

// boundedFetches answers a GET of a URL fetched successfully less than min
// ago with that answer, without asking the issuer again.
type boundedFetches struct {
	next http.RoundTripper
	min  time.Duration
	now  func() time.Time

	mu   sync.Mutex
	last map[string]fetched
}

type fetched struct {
	at     time.Time
	header http.Header
	body   []byte // nil: the fetch failed
}

// RoundTrip implements http.RoundTripper.
func (b *boundedFetches) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet {
		return b.next.RoundTrip(r)
	}
	u := r.URL.String()
	now := b.now()
	b.mu.Lock()
	f, ok := b.last[u]
	b.mu.Unlock()
	if ok && now.Sub(f.at) < b.min {
		if f.body == nil {
			return nil, fmt.Errorf("jwtauth: fetch of %s failed %v ago", u, now.Sub(f.at).Round(time.Second))
		}
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: f.header.Clone(), Body: io.NopCloser(bytes.NewReader(f.body)),
			ContentLength: int64(len(f.body)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
	}
	resp, err := b.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.mu.Lock()
		b.last[u] = fetched{at: now}
		b.mu.Unlock()
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.last[u] = fetched{at: now, header: resp.Header.Clone(), body: body}
	b.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
