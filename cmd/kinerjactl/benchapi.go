package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// apiScenarios are the scenarios of `bench api`, in the order they run.
// contention is not run unless named: it writes to one SKP.
var apiScenarios = []string{"trivial", "get_skp", "as_of", "report", "report_progress", "mutation", "as_of_1000", "contention"}

// defaultScenarios are the scenarios run when none are named.
var defaultScenarios = apiScenarios[:len(apiScenarios)-1]

// apiConfig is what `bench api` was asked to do.
type apiConfig struct {
	url, data              string
	alsoURLs               []string // more kinerjad serving the same ledger (contention)
	concurrency            int
	contentionItems        int
	duration, wait, warmup time.Duration
	scenarios              []string
	asOfEvents, asOfSample int
	ratio                  bool
	seed                   int64
	// role and agency are the reading token's (get_skp, as_of): role
	// one of readerRoles, agency its agency claim ("" for none). Every
	// token of the run carries the agency claim when it is set.
	role, agency string
	// rate, when positive, runs the scenarios open loop: rate requests
	// per second, due at fixed times, over openConns connections (see
	// openLoop); 0 is the closed loop of --concurrency clients.
	rate      float64
	openConns int
}

// readerRoles are the roles --role may name: the agency roles that read
// any SKP of their agency.
var readerRoles = []string{"HR_ADMIN", "HR_ANALYST", "AUDITOR"}

// runBenchAPI is a load generator against a running kinerjad: each
// scenario runs for --duration with --concurrency clients in a loop (closed
// loop: a client sends its next request when the last one is answered),
// and prints one JSON line with requests/s, latency percentiles and
// errors. The same run serves and measures a trivial net/http handler on
// an ephemeral port, the machine's ceiling; the --ratio line divides
// get_skp's rate by it. Tokens are signed with the key kinerjad keeps in
// --data. The mutation and as_of_1000 scenarios append feedback: run it on
// a benchmark agency (kinerjactl seed), never on real data.
//
// With --rate the scenarios run open loop instead (openLoop): requests due
// at fixed times, --rate a second, over --open-conns connections, each
// timed from its due time, so that a stall of the service counts in the
// latency of every request due during it (a closed-loop client sends
// fewer requests while the service is slow, and under-samples its worst
// moments: coordinated omission). The warm-up is then the schedule's first
// part, and only the requests due after it are measured, so a backlog the
// warm-up built counts in their latency. Every line also gives the client's own
// CPU per request: on a machine the client shares with kinerjad, that is
// CPU kinerjad did not get.
func runBenchAPI(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench api", stderr)
	var c apiConfig
	fs.StringVar(&c.url, "url", "", "base URL of the running kinerjad, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.data, "data", "./data", "kinerjad's data directory, whose key signs the tokens")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent clients per scenario")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long each scenario runs")
	fs.DurationVar(&c.wait, "wait", time.Minute, "how long to wait for kinerjad's /readyz first")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "how long each scenario runs unmeasured first (a service in use has warm caches); with --rate, the same schedule's first part, whose backlog the measured requests still queue behind")
	scen := fs.String("scenarios", strings.Join(defaultScenarios, ","), "comma-separated scenarios to run, of "+strings.Join(apiScenarios, ", "))
	also := fs.String("also-url", "", "contention: comma-separated base URLs of more kinerjad processes on the same ledger; the writers take turns among all")
	fs.IntVar(&c.contentionItems, "contention-items", 20, "contention: the items each of the --concurrency writers posts to one SKP")
	fs.IntVar(&c.asOfEvents, "as-of-events", 1000, "events of the SKP that as_of_1000 grows (by feedback through the API) and reads")
	fs.IntVar(&c.asOfSample, "as-of-sample", 100, "SKPs whose middle moment the as_of scenario reads")
	fs.BoolVar(&c.ratio, "ratio", true, "print a summary line: get_skp requests/s ÷ trivial requests/s")
	fs.Int64Var(&c.seed, "seed", 1, "random seed of the clients' choices")
	fs.StringVar(&c.role, "role", "HR_ADMIN", "get_skp and as_of: the reading token's role, one of "+strings.Join(readerRoles, ", "))
	fs.StringVar(&c.agency, "agency", "", "the agency claim (the root unit's ID) of every token of the run, the reading one's included; empty: claimless tokens")
	fs.Float64Var(&c.rate, "rate", 0, "open loop: requests per second, each due at a fixed time and timed from it (no coordinated omission); 0: the closed loop of --concurrency clients")
	fs.IntVar(&c.openConns, "open-conns", 64, "open loop (--rate): the connections that send the due requests; when all are busy a due request waits, and the wait counts in its latency")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	for _, s := range strings.Split(*scen, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.scenarios = append(c.scenarios, s)
		}
	}
	for _, u := range strings.Split(*also, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.alsoURLs = append(c.alsoURLs, strings.TrimRight(u, "/"))
		}
	}
	if err := c.validate(); err != nil {
		return err
	}
	key, err := authkey.Load(c.data)
	if err != nil {
		return fmt.Errorf("bench api: %w (is --data kinerjad's data directory?)", err)
	}
	b := &apiBench{cfg: c, key: key, base: strings.TrimRight(c.url, "/"), stderr: stderr, client: c.httpClient()}
	defer b.client.CloseIdleConnections()
	if err := b.waitReady(ctx); err != nil {
		return err
	}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	trivial, stopTrivial, err := serveTrivial()
	if err != nil {
		return err
	}
	defer stopTrivial()

	enc := json.NewEncoder(stdout)
	rates := map[string]float64{}
	for _, name := range c.scenarios {
		if name == "contention" {
			fmt.Fprintf(stderr, "bench api: contention, %d writers × %d items on one SKP...\n", c.concurrency, c.contentionItems)
			r, err := b.contention(ctx)
			if err != nil {
				return err
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		sc, err := b.scenario(ctx, name, trivial)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench api: %s, %d clients for %s...\n", name, c.concurrency, c.duration)
		r := b.load(ctx, sc)
		if err := ctx.Err(); err != nil {
			return err
		}
		rates[name] = r.RPS
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if c.ratio && rates["trivial"] > 0 && slices.Contains(c.scenarios, "get_skp") {
		return enc.Encode(struct {
			Bench      string  `json:"bench"`
			Scenario   string  `json:"scenario"`
			GetSKPRPS  float64 `json:"get_skp_rps"`
			TrivialRPS float64 `json:"trivial_rps"`
			Ratio      float64 `json:"ratio"`
			Target     float64 `json:"target"`
			Role       string  `json:"role"`
			Agency     string  `json:"agency,omitempty"`
		}{"api", "ratio", rates["get_skp"], rates["trivial"], round3(rates["get_skp"] / rates["trivial"]), 0.3, c.role, c.agency})
	}
	return nil
}

// httpClient is the run's client. Its idle pool holds every connection the
// run opens (the closed loop's --concurrency, the open loop's
// --open-conns, whichever is more): a smaller pool closes the surplus when
// a burst ends, and the next burst's requests wait for new TCP
// connections, a cost of the client counted as the service's latency. In
// the open loop no more than that is opened to one host.
func (c apiConfig) httpClient() *http.Client {
	n := max(c.concurrency, c.openConns)
	t := &http.Transport{Proxy: nil, MaxIdleConns: 4 * n, MaxIdleConnsPerHost: n, IdleConnTimeout: 90 * time.Second}
	if c.rate > 0 {
		// The open loop's workers are --open-conns; contention's writers
		// (closed) are --concurrency: the larger, so neither waits for a
		// connection.
		t.MaxConnsPerHost = n
	}
	return &http.Client{Timeout: time.Minute, Transport: t}
}

func (c apiConfig) validate() error {
	var errs []error
	if u, err := url.Parse(c.url); c.url == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("bench api: --url %q: want the base URL of kinerjad, e.g. http://127.0.0.1:8080", c.url))
	}
	if c.concurrency <= 0 || c.duration <= 0 || c.wait < 0 || c.warmup < 0 {
		errs = append(errs, errors.New("bench api: --concurrency and --duration must be positive"))
	}
	for _, a := range c.alsoURLs {
		if u, err := url.Parse(a); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("bench api: --also-url %q: want base URLs of kinerjad", a))
		}
	}
	if c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0) || (c.rate > 0 && c.openConns <= 0) {
		errs = append(errs, fmt.Errorf("bench api: --rate %v --open-conns %d: want a finite rate ≥ 0 and, with a rate, connections > 0", c.rate, c.openConns))
	}
	if c.rate > 0 && (openLoop{rate: c.rate, warmup: c.warmup, duration: c.duration}).measured() == 0 {
		errs = append(errs, fmt.Errorf("bench api: --rate %v over --duration %s after --warmup %s: no request is due in the measured window", c.rate, c.duration, c.warmup))
	}
	if c.contentionItems <= 0 {
		errs = append(errs, errors.New("bench api: --contention-items must be positive"))
	}
	if c.asOfEvents < 2 || c.asOfSample <= 0 {
		errs = append(errs, errors.New("bench api: --as-of-events must be at least 2 and --as-of-sample positive"))
	}
	if len(c.scenarios) == 0 {
		errs = append(errs, errors.New("bench api: no scenario"))
	}
	if !slices.Contains(readerRoles, c.role) {
		errs = append(errs, fmt.Errorf("bench api: --role %q: want one of %s", c.role, strings.Join(readerRoles, ", ")))
	}
	if c.agency != "" && (!orgunit.ValidID(c.agency) || len(c.agency) > authkey.MaxAgencyLen) {
		errs = append(errs, fmt.Errorf("bench api: --agency %q: want the ID of an agency's root unit", c.agency))
	}
	for _, s := range c.scenarios {
		if !slices.Contains(apiScenarios, s) {
			errs = append(errs, fmt.Errorf("bench api: unknown scenario %q (known: %s)", s, strings.Join(apiScenarios, ", ")))
		}
	}
	return exitcode.Usage(errors.Join(errs...))
}

// serveTrivial serves the ceiling's handler on an ephemeral loopback port
// and returns its URL and how to stop it.
func serveTrivial() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// apiBench is one run of `bench api`: the client, the tokens and what
// prepare learnt of the agency.
type apiBench struct {
	cfg    apiConfig
	key    *authkey.Key
	base   string
	client *http.Client
	stderr io.Writer

	hrToken, auditorToken string
	readToken             string            // get_skp and as_of: --role, --agency
	tokens                map[string]string // appraiser NIP → token

	ids      []string       // every SKP
	open     []skps.Summary // established, with an appraiser: feedback targets
	asOf     []skpMoment    // SKPs and a moment in the middle of their history
	rootUnit string         // the agency's root unit
	year     int            // the SKPs' (most common) year
}

// skpMoment is an SKP and a moment of its history (RFC 3339).
type skpMoment struct{ id, at string }

// waitReady polls /readyz until kinerjad answers 200 or --wait passes.
func (b *apiBench) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(b.cfg.wait)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := b.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench api: %s/readyz: %w (after %s)", b.base, err, b.cfg.wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sign returns a token for sub with roles, valid for the whole run, with
// the --agency claim when set.
func (b *apiBench) sign(sub string, roles ...string) (string, error) {
	return b.key.Sign(authkey.Claims{Subject: sub, Roles: roles, Agency: b.cfg.agency, TTL: 12 * time.Hour})
}

// signPerson returns an employee's token (an appraiser's): relationship
// roles need no agency claim.
func (b *apiBench) signPerson(nip string) (string, error) {
	return b.key.Sign(authkey.Claims{Subject: nip, TTL: 12 * time.Hour})
}

// getJSON sends GET path with token and decodes a 200 answer into out.
func (b *apiBench) getJSON(ctx context.Context, token, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench api: GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, out)
}

// prepare lists the agency as HR_ADMIN: every SKP, the feedback targets,
// the root unit and the year; and, for as_of, the middle moment of a
// sample of SKPs (from their events, as AUDITOR).
func (b *apiBench) prepare(ctx context.Context) error {
	var err error
	if b.hrToken, err = b.sign("bench-hr-admin", "HR_ADMIN"); err != nil {
		return err
	}
	if b.auditorToken, err = b.sign("bench-auditor", "AUDITOR"); err != nil {
		return err
	}
	if b.readToken, err = b.sign("bench-"+strings.ToLower(strings.ReplaceAll(b.cfg.role, "_", "-")), b.cfg.role); err != nil {
		return err
	}
	years := map[int]int{}
	cursor := ""
	for {
		var page httpapi.SKPPage
		path := "/v1/skps?limit=500"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := b.getJSON(ctx, b.hrToken, path, &page); err != nil {
			return err
		}
		for _, s := range page.Items {
			b.ids = append(b.ids, s.ID)
			years[s.Year]++
			if s.Status == string(skp.StatusEstablished) && s.AppraiserNIP != "" {
				b.open = append(b.open, s)
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = *page.NextCursor
	}
	if len(b.ids) == 0 || len(b.open) == 0 {
		return fmt.Errorf("bench api: %s has %d SKPs, %d established: seed an agency first (kinerjactl seed)", b.base, len(b.ids), len(b.open))
	}
	for y, n := range years {
		if n > years[b.year] || (n == years[b.year] && y > b.year) {
			b.year = y
		}
	}
	b.tokens = map[string]string{}
	for _, s := range b.open {
		if _, ok := b.tokens[s.AppraiserNIP]; !ok {
			if b.tokens[s.AppraiserNIP], err = b.signPerson(s.AppraiserNIP); err != nil {
				return err
			}
		}
	}
	var units httpapi.UnitList
	if err := b.getJSON(ctx, b.hrToken, "/v1/units", &units); err != nil {
		return err
	}
	for _, u := range units.Items {
		if u.ParentID == "" && (b.rootUnit == "" || u.ID < b.rootUnit) {
			b.rootUnit = u.ID
		}
	}
	if b.rootUnit == "" {
		return errors.New("bench api: no root unit")
	}
	if b.cfg.agency != "" && b.rootUnit != b.cfg.agency {
		return fmt.Errorf("bench api: --agency %s: the agency's HR_ADMIN sees the root unit %s (is %s an agency of %s?)", b.cfg.agency, b.rootUnit, b.cfg.agency, b.base)
	}
	if !slices.Contains(b.cfg.scenarios, "as_of") {
		return nil
	}
	rng := mrand.New(mrand.NewPCG(uint64(b.cfg.seed), 0))
	for _, i := range rng.Perm(len(b.ids)) {
		if len(b.asOf) == b.cfg.asOfSample {
			break
		}
		var evs httpapi.EventList
		if err := b.getJSON(ctx, b.auditorToken, "/v1/skps/"+url.PathEscape(b.ids[i])+"/events?limit=1000", &evs); err != nil {
			return err
		}
		if len(evs.Items) < 2 {
			continue
		}
		mid := evs.Items[len(evs.Items)/2].RecordedAt
		b.asOf = append(b.asOf, skpMoment{id: b.ids[i], at: mid.Format(time.RFC3339Nano)})
	}
	if len(b.asOf) == 0 {
		return errors.New("bench api: no SKP with two events for as_of")
	}
	return nil
}

// apiScenario is what one scenario sends.
type apiScenario struct {
	name   string
	target string // the base URL
	want   int    // the success status
	events int    // as_of_1000: the events replayed
	// next builds a client's next request.
	next func(rng *mrand.Rand) (*http.Request, error)
}

// get returns a GET request of path on base with token (none if empty).
func get(base, path, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err == nil && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}

// scenario builds scenario name (as_of_1000 first grows its SKP).
func (b *apiBench) scenario(ctx context.Context, name, trivial string) (apiScenario, error) {
	sc := apiScenario{name: name, target: b.base, want: http.StatusOK}
	switch name {
	case "trivial":
		sc.target = trivial
		sc.next = func(*mrand.Rand) (*http.Request, error) { return get(trivial, "/", "") }
	case "get_skp":
		sc.next = func(rng *mrand.Rand) (*http.Request, error) {
			return get(b.base, "/v1/skps/"+url.PathEscape(b.ids[rng.IntN(len(b.ids))]), b.readToken)
		}
	case "as_of":
		sc.next = func(rng *mrand.Rand) (*http.Request, error) {
			m := b.asOf[rng.IntN(len(b.asOf))]
			return get(b.base, "/v1/skps/"+url.PathEscape(m.id)+"?as_of="+url.QueryEscape(m.at), b.readToken)
		}
	case "report":
		path := "/v1/reports/distribution?unit=" + url.QueryEscape(b.rootUnit) + "&period=" + strconv.Itoa(b.year)
		sc.next = func(*mrand.Rand) (*http.Request, error) { return get(b.base, path, b.hrToken) }
	case "report_progress":
		path := "/v1/reports/progress?unit=" + url.QueryEscape(b.rootUnit) + "&year=" + strconv.Itoa(b.year)
		sc.next = func(*mrand.Rand) (*http.Request, error) { return get(b.base, path, b.hrToken) }
	case "mutation":
		sc.want = http.StatusCreated
		sc.next = func(rng *mrand.Rand) (*http.Request, error) {
			s := b.open[rng.IntN(len(b.open))]
			return b.feedback(s.ID, b.tokens[s.AppraiserNIP], rng)
		}
	case "as_of_1000":
		id, at, err := b.growSKP(ctx)
		if err != nil {
			return sc, err
		}
		sc.events = b.cfg.asOfEvents
		path := "/v1/skps/" + url.PathEscape(id) + "?as_of=" + url.QueryEscape(at)
		sc.next = func(*mrand.Rand) (*http.Request, error) { return get(b.base, path, b.hrToken) }
	default:
		return sc, fmt.Errorf("bench api: unknown scenario %q", name)
	}
	return sc, nil
}

// feedback returns POST /v1/skps/{id}/feedback as the appraiser, with a
// fresh Idempotency-Key and no If-Match.
func (b *apiBench) feedback(id, token string, rng *mrand.Rand) (*http.Request, error) {
	return b.feedbackAt(b.base, id, token, rng)
}

// feedbackAt is feedback sent to the kinerjad at base.
func (b *apiBench) feedbackAt(base, id, token string, rng *mrand.Rand) (*http.Request, error) {
	body := httpapi.FeedbackBody{Text: feedbackTexts[rng.IntN(len(feedbackTexts))]}
	if rng.IntN(2) == 0 {
		vs := berakhlak.Values()
		body.About.Behaviour = string(vs[rng.IntN(len(vs))])
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/v1/skps/"+url.PathEscape(id)+"/feedback", bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	return req, nil
}

// growSKP makes one established SKP (the longest, so a second run reuses
// it) at least --as-of-events long, appending its appraiser's feedback
// through the API one request at a time, and returns its id and the
// moment its --as-of-events-th event was recorded: an as_of read there
// replays exactly that many events.
func (b *apiBench) growSKP(ctx context.Context) (id, at string, err error) {
	s := slices.MaxFunc(b.open, func(x, y skps.Summary) int {
		if x.Revision != y.Revision {
			return int(x.Revision) - int(y.Revision)
		}
		return strings.Compare(y.ID, x.ID)
	})
	var cur struct {
		Revision uint64 `json:"revision"`
	}
	if err := b.getJSON(ctx, b.hrToken, "/v1/skps/"+url.PathEscape(s.ID), &cur); err != nil {
		return "", "", err
	}
	need := b.cfg.asOfEvents - int(cur.Revision+1)
	if need > 0 {
		fmt.Fprintf(b.stderr, "bench api: growing SKP %s from %d to %d events...\n", s.ID, cur.Revision+1, b.cfg.asOfEvents)
	}
	rng := mrand.New(mrand.NewPCG(uint64(b.cfg.seed), 1))
	last := time.Now()
	for i := range need {
		req, err := b.feedback(s.ID, b.tokens[s.AppraiserNIP], rng)
		if err != nil {
			return "", "", err
		}
		resp, err := b.client.Do(req.WithContext(ctx))
		if err != nil {
			return "", "", err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return "", "", fmt.Errorf("bench api: feedback on %s: %s: %s", s.ID, resp.Status, bytes.TrimSpace(body))
		}
		if time.Since(last) > time.Second {
			fmt.Fprintf(b.stderr, "bench api: %d/%d feedback appended\n", i+1, need)
			last = time.Now()
		}
	}
	// The events come a page at a time; follow the pages to the
	// --as-of-events-th.
	var items []httpapi.EventItem
	path := "/v1/skps/" + url.PathEscape(s.ID) + "/events?limit=1000"
	for len(items) < b.cfg.asOfEvents {
		var evs httpapi.EventList
		if err := b.getJSON(ctx, b.auditorToken, path, &evs); err != nil {
			return "", "", err
		}
		items = append(items, evs.Items...)
		if evs.NextCursor == nil {
			break
		}
		path = "/v1/skps/" + url.PathEscape(s.ID) + "/events?limit=1000&cursor=" + url.QueryEscape(*evs.NextCursor)
	}
	if len(items) < b.cfg.asOfEvents {
		return "", "", fmt.Errorf("bench api: SKP %s has %d events after growing, want %d", s.ID, len(items), b.cfg.asOfEvents)
	}
	return s.ID, items[b.cfg.asOfEvents-1].RecordedAt.Format(time.RFC3339Nano), nil
}

// apiResult is the JSON line of one scenario.
type apiResult struct {
	Bench       string  `json:"bench"`
	Scenario    string  `json:"scenario"`
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	// Events is, for as_of_1000, the events an as_of read replays.
	Events int `json:"events,omitempty"`
	// Role and Agency are the reading token's, for get_skp and as_of
	// (Agency "" for a claimless token).
	Role   string `json:"role,omitempty"`
	Agency string `json:"agency,omitempty"`
	// Requests completed (answered, or failed in transport; in the open
	// loop, those due after the warm-up); OK of them were answered with
	// the scenario's success status, Errors not. RPS and the latencies
	// are the successes' only: a failure's time says little of the
	// service's (a refused connection is quick, a timeout long).
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// ErrorSample is one error, to tell what went wrong.
	ErrorSample string `json:"error_sample,omitempty"`
	// ClientCPUUS is this process's CPU (user + system, every goroutine
	// of it: the bench client's own cost on the machine) over the measured
	// window, in µs per request.
	ClientCPUUS float64 `json:"client_cpu_us_per_request"`
	// Open loop (--rate): Mode "open", the rate asked for, the
	// connections, and the lag of the sends behind their due times (the
	// client's own delay, included in the latencies above, which run from
	// the due time). Mode "closed" otherwise.
	Mode      string  `json:"mode"`
	RateAsked float64 `json:"rate_asked,omitempty"`
	OpenConns int     `json:"open_conns,omitempty"`
	LagP50    float64 `json:"send_lag_p50_ms,omitempty"`
	LagP99    float64 `json:"send_lag_p99_ms,omitempty"`
	LagMax    float64 `json:"send_lag_max_ms,omitempty"`
}

// clients runs fn for each of --concurrency clients at once, each with its
// own random source (seeded by --seed and stream+w), and waits for them.
func (b *apiBench) clients(stream uint64, fn func(w int, rng *mrand.Rand)) {
	var wg sync.WaitGroup
	for w := range b.cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, mrand.New(mrand.NewPCG(uint64(b.cfg.seed), uint64(w)+stream)))
		}()
	}
	wg.Wait()
}

// load runs sc with --concurrency clients for --warmup unmeasured, then
// for --duration, measuring every request, body read included; or, with
// --rate, open loop over one schedule of --warmup and --duration.
func (b *apiBench) load(ctx context.Context, sc apiScenario) apiResult {
	if b.cfg.rate > 0 {
		return b.openLoop(ctx, sc)
	}
	if b.cfg.warmup > 0 {
		b.closedLoopFor(ctx, sc, b.cfg.warmup)
	}
	cpu0 := processCPU()
	r := b.closedLoopFor(ctx, sc, b.cfg.duration)
	if r.Requests > 0 {
		r.ClientCPUUS = round3(float64((processCPU() - cpu0).Microseconds()) / float64(r.Requests))
	}
	return r
}

// send sends req and reads its answer; it returns "" when the answer has
// sc's success status, else what went wrong.
func (b *apiBench) send(ctx context.Context, sc apiScenario, req *http.Request) string {
	resp, err := b.client.Do(req.WithContext(ctx))
	if err != nil {
		return err.Error()
	}
	var body []byte
	if resp.StatusCode != sc.want {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != sc.want {
		return fmt.Sprintf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	return ""
}

// openLoop runs sc open loop at --rate over --open-conns connections,
// each with its own random source: one schedule over --warmup and
// --duration, measuring the requests due after the warm-up (see openLoop)
// and the client's CPU from the first of them.
func (b *apiBench) openLoop(ctx context.Context, sc apiScenario) apiResult {
	cpu0 := processCPU()
	o := openLoop{rate: b.cfg.rate, warmup: b.cfg.warmup, duration: b.cfg.duration, workers: b.cfg.openConns,
		measuring: func() { cpu0 = processCPU() }}
	rngs := make([]*mrand.Rand, o.workers)
	for w := range rngs {
		rngs[w] = mrand.New(mrand.NewPCG(uint64(b.cfg.seed), uint64(w)+3))
	}
	t := o.run(ctx, realClock{}, func(w, _ int) string {
		req, err := sc.next(rngs[w])
		if err != nil {
			return err.Error()
		}
		return b.send(ctx, sc, req)
	})
	cpu := processCPU() - cpu0
	r := apiResult{Bench: "api", Scenario: sc.name, Target: sc.target, Concurrency: o.workers,
		DurationS: round3(t.elapsed.Seconds()), Events: sc.events, Mode: "open", RateAsked: o.rate, OpenConns: o.workers,
		Requests: t.sent(), OK: len(t.latency), Errors: t.errs, ErrorSample: t.sample, RPS: round3(t.okRate())}
	if sc.name == "get_skp" || sc.name == "as_of" {
		r.Role, r.Agency = b.cfg.role, b.cfg.agency
	}
	if r.Requests > 0 {
		r.ClientCPUUS = round3(float64(cpu.Microseconds()) / float64(r.Requests))
	}
	l := summarise(t.latency, true)
	r.P50, r.P90, r.P95, r.P99, r.Max = l.P50, l.P90, l.P95, l.P99, l.Max
	g := summarise(t.lag, false)
	r.LagP50, r.LagP99, r.LagMax = g.P50, g.P99, g.Max
	return r
}

// closedLoopFor runs sc with --concurrency clients for d.
func (b *apiBench) closedLoopFor(ctx context.Context, sc apiScenario, d time.Duration) apiResult {
	type tally struct {
		lat        []time.Duration // the successes'
		sent, errs int
		sample     string
	}
	tallies := make([]tally, b.cfg.concurrency)
	start := time.Now()
	deadline := start.Add(d)
	b.clients(2, func(w int, rng *mrand.Rand) {
		t := &tallies[w]
		fail := func(msg string) {
			t.errs++
			if t.sample == "" {
				t.sample = msg
			}
		}
		for ctx.Err() == nil && time.Now().Before(deadline) {
			req, err := sc.next(rng)
			if err != nil {
				fail(err.Error())
				return
			}
			began := time.Now()
			msg := b.send(ctx, sc, req)
			t.sent++
			if msg != "" {
				fail(msg)
				continue
			}
			t.lat = append(t.lat, time.Since(began))
		}
	})
	elapsed := time.Since(start)
	r := apiResult{Bench: "api", Scenario: sc.name, Target: sc.target, Concurrency: b.cfg.concurrency,
		DurationS: round3(elapsed.Seconds()), Events: sc.events, Mode: "closed"}
	if sc.name == "get_skp" || sc.name == "as_of" {
		r.Role, r.Agency = b.cfg.role, b.cfg.agency
	}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.lat...)
		r.Requests += t.sent
		r.Errors += t.errs
		if r.ErrorSample == "" {
			r.ErrorSample = t.sample
		}
	}
	r.OK = len(all)
	r.RPS = round3(float64(len(all)) / elapsed.Seconds())
	l := summarise(all, true)
	r.P50, r.P90, r.P95, r.P99, r.Max = l.P50, l.P90, l.P95, l.P99, l.Max
	return r
}

// contentionResult is the JSON line of the contention scenario.
type contentionResult struct {
	Bench    string   `json:"bench"`
	Scenario string   `json:"scenario"`
	Targets  []string `json:"targets"`
	SKP      string   `json:"skp"`
	Writers  int      `json:"writers"`
	Items    int      `json:"items"`
	// Requests were sent; OK of them answered 2xx, Contention 409
	// contention, Other anything else (ErrorSample shows one).
	Requests   int     `json:"requests"`
	OK         int     `json:"ok"`
	OKRatio    float64 `json:"ok_ratio"`
	Contention int     `json:"contention"`
	Other      int     `json:"other"`
	DurationS  float64 `json:"duration_s"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	// ErrorSample is one answer that was not 2xx.
	ErrorSample string `json:"error_sample,omitempty"`
}

// contention is issue 10's target: --concurrency writers each post
// --contention-items feedback to one established SKP at once, without
// If-Match, writer w through the w-th of --url and --also-url in turn; it
// counts the 2xx answers. The SKP is the least-written established one, so
// a run does not grow as_of_1000's.
func (b *apiBench) contention(ctx context.Context) (contentionResult, error) {
	s := slices.MinFunc(b.open, func(x, y skps.Summary) int {
		if x.Revision != y.Revision {
			return int(x.Revision) - int(y.Revision)
		}
		return strings.Compare(x.ID, y.ID)
	})
	targets := append([]string{b.base}, b.cfg.alsoURLs...)
	r := contentionResult{Bench: "api", Scenario: "contention", Targets: targets, SKP: s.ID, Writers: b.cfg.concurrency, Items: b.cfg.contentionItems}
	type tally struct {
		lat                   []time.Duration
		ok, contention, other int
		sample                string
	}
	tallies := make([]tally, b.cfg.concurrency)
	token := b.tokens[s.AppraiserNIP]
	start := time.Now()
	b.clients(1000, func(w int, rng *mrand.Rand) {
		t := &tallies[w]
		for range b.cfg.contentionItems {
			req, err := b.feedbackAt(targets[w%len(targets)], s.ID, token, rng)
			if err != nil {
				t.other++
				t.sample = err.Error()
				continue
			}
			began := time.Now()
			resp, err := b.client.Do(req.WithContext(ctx))
			if err != nil {
				t.lat = append(t.lat, time.Since(began))
				t.other++
				t.sample = err.Error()
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			t.lat = append(t.lat, time.Since(began))
			var p httpapi.Problem
			switch {
			case resp.StatusCode/100 == 2:
				t.ok++
				continue
			case resp.StatusCode == http.StatusConflict && json.Unmarshal(body, &p) == nil && p.Code == "contention":
				t.contention++
			default:
				t.other++
			}
			if t.sample == "" {
				t.sample = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.DurationS = round3(time.Since(start).Seconds())
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.lat...)
		r.OK, r.Contention, r.Other = r.OK+t.ok, r.Contention+t.contention, r.Other+t.other
		if r.ErrorSample == "" {
			r.ErrorSample = t.sample
		}
	}
	r.Requests = b.cfg.concurrency * b.cfg.contentionItems
	r.OKRatio = round3(float64(r.OK) / float64(r.Requests))
	l := summarise(all, false)
	r.P50, r.P99, r.Max = l.P50, l.P99, l.Max
	return r, nil
}
