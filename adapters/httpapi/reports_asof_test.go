package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// TestReportsAsOf: the progress and distribution reports answer as the
// ledger had recorded them at as_of (an RFC 3339 instant or a ledger
// position, repeated in the answer's as_of): before the year nothing is
// counted, at the head or now what is counted without as_of; a future
// instant, a position past the head, garbage and control characters are
// 400 and name the parameter. On bbolt and on PostgreSQL (positions and
// recorded times come from the store).
func TestReportsAsOf(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) { reportsAsOf(t, newHarnessOn(t, backend), backend) })
	}
}

func reportsAsOf(t *testing.T, h *harness, backend string) {
	st := h.seedAgency(40)
	hrAdm := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	prog := func(asOf string) reports.ProgressReport {
		t.Helper()
		var rep reports.ProgressReport
		h.must(http.StatusOK, hrAdm, "GET", "/v1/reports/progress?unit="+st.AgencyUnit+"&year=2025&as_of="+url.QueryEscape(asOf), nil).decode(t, &rep)
		return rep
	}
	dist := func(asOf string) reports.DistributionReport {
		t.Helper()
		var rep reports.DistributionReport
		h.must(http.StatusOK, hrAdm, "GET", "/v1/reports/distribution?unit="+st.AgencyUnit+"&period=2025&as_of="+url.QueryEscape(asOf), nil).decode(t, &rep)
		return rep
	}
	nowP, nowD := prog(""), dist("")
	if nowP.Total.SKPs == 0 || nowD.Population == 0 || nowP.AsOf != "" {
		t.Fatalf("now: %d SKPs, population %d, as_of %q", nowP.Total.SKPs, nowD.Population, nowP.AsOf)
	}
	before := "2024-12-31T00:00:00+07:00"
	if p, d := prog(before), dist(before); p.Total.SKPs != 0 || d.Population != 0 || p.AsOf != "2024-12-30T17:00:00Z" || d.AsOf != p.AsOf {
		t.Errorf("as of %s: %d SKPs, population %d, as_of %q/%q; want none, and the instant repeated", before, p.Total.SKPs, d.Population, p.AsOf, d.AsOf)
	}
	now := h.clock.Now().Format(time.RFC3339)
	// PostgreSQL records its own clock (recorded_at is the database's
	// now(), today), the harness's clock is a year ago: its "now" is
	// before every event there, so only bbolt can check it.
	if p, d := prog(now), dist(now); backend == "bolt" && (p.Total.SKPs != nowP.Total.SKPs || p.Total.Late != nowP.Total.Late ||
		d.Population != nowD.Population || d.Counts["BAIK"] != nowD.Counts["BAIK"]) {
		t.Errorf("as of now: %+v, %+v; without as_of %+v, %+v", p.Total, d.Counts, nowP.Total, nowD.Counts)
	}
	head, err := h.store.Head(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := strconv.FormatUint(uint64(head), 10)
	if p, d := prog(hs), dist(hs); p.Total.SKPs != nowP.Total.SKPs || d.Population != nowD.Population || p.AsOf != hs {
		t.Errorf("at the head %s: %d SKPs, population %d, as_of %q", hs, p.Total.SKPs, d.Population, p.AsOf)
	}
	// Half-way through the ledger (the seed records the year at one
	// instant, so positions tell its steps apart): part of it.
	half := strconv.FormatUint(uint64(head)/2, 10)
	if p, d := prog(half), dist(half); p.Total.SKPs > nowP.Total.SKPs || d.Population > nowD.Population ||
		(p.Total.SKPs == nowP.Total.SKPs && d.Population == nowD.Population) {
		t.Errorf("at position %s: %d SKPs, population %d; now %d, %d", half, p.Total.SKPs, d.Population, nowP.Total.SKPs, nowD.Population)
	}
	if p := prog("1"); p.Total.SKPs != 0 {
		t.Errorf("at position 1: %d SKPs", p.Total.SKPs)
	}
	// The CSV follows the cut.
	if r := h.must(http.StatusOK, hrAdm, "GET", "/v1/reports/progress?format=csv&unit="+st.AgencyUnit+"&year=2025&as_of="+url.QueryEscape(before), nil); !strings.Contains(string(r.body), st.AgencyUnit) {
		t.Errorf("the CSV as of %s: %.200s", before, r.body)
	}
	future := h.clock.Now().Add(time.Minute).Format(time.RFC3339)
	for _, bad := range []string{future, "2030-01-01T00:00:00Z", "kemarin", "2025-06-30", "0", strconv.FormatUint(uint64(head)+1, 10),
		"2025-06-30T00:00:00Z\n", "2025-06-30T00:00:00Z\x00", "\u202e2025-06-30T00:00:00Z", strings.Repeat("9", 100), "-5", "0001-01-01T00:00:00Z"} {
		for _, path := range []string{"/v1/reports/progress?year=2025", "/v1/reports/distribution?period=2025"} {
			p := h.refused(http.StatusBadRequest, "invalid_request", &hrAdm, "GET", path+"&unit="+st.AgencyUnit+"&as_of="+url.QueryEscape(bad), nil)
			if !strings.Contains(p.Detail+p.Title+fieldNames(p), "as_of") {
				t.Errorf("%s as_of=%q: the problem does not name as_of: %+v", path, bad, p)
			}
		}
	}
}

// fieldNames lists the fields a problem names.
func fieldNames(p Problem) string {
	var b strings.Builder
	for _, f := range p.Errors {
		b.WriteString(f.Field + " ")
	}
	return b.String()
}
