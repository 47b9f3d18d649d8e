package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// TestConsequencesAndCalibrationAPI reads both views of a generated
// agency through the API, on the bbolt and the PostgreSQL store: who may
// read which, the published consequences each tracing to stored events,
// exports, and refusals of bad input.
func TestConsequencesAndCalibrationAPI(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) { consequencesAndCalibration(t, newHarnessOn(t, backend)) })
	}
}

func consequencesAndCalibration(t *testing.T, h *harness) {
	st := h.seedAgency(60)
	stored := map[string]eventstore.Event{}
	unitOf := map[string]string{}
	for ev, err := range h.srv.app.Config().Store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored[ev.ID.String()] = ev
		if pe, err := projections.Decode(ev); err == nil {
			if r, ok := pe.Payload.(employee.Registered); ok {
				unitOf[r.NIP] = r.UnitID
			}
		}
	}

	var reg consequences.Register
	h.must(http.StatusOK, hr, "GET", "/v1/reports/consequences?year=2025", nil).decode(t, &reg)
	if st.Finalised == 0 || len(reg.Current) == 0 {
		t.Fatalf("finalised %d, published %d", st.Finalised, len(reg.Current))
	}
	for _, p := range reg.Publications {
		if p.Period != "2025" || !p.Predikat.Valid() || p.TPPFactorPercent == 0 || len(p.Sources) < 3 {
			t.Errorf("publication %+v", p)
		}
		for _, s := range append(p.Sources, p.Trigger) {
			ev, ok := stored[s.EventID]
			if !ok || uint64(ev.Position) != s.Position || ev.Stream != s.Stream || ev.Type != s.Type {
				t.Errorf("%s: source %+v is not the stored event %+v", p.ID, s, ev.Type)
			}
		}
		if p.Recognition != (p.Predikat == rating.SangatBaik) {
			t.Errorf("%s: recognition %v for %s", p.ID, p.Recognition, p.Predikat)
		}
	}
	for _, p := range reg.Recognition {
		if p.Predikat != rating.SangatBaik {
			t.Errorf("recognised %+v", p)
		}
	}
	// A decision recorded now publishes now: the fold advances with the
	// events after the last it read.
	var open ObjectionList
	h.must(http.StatusOK, hr, "GET", "/v1/objections?status=OPEN", nil).decode(t, &open)
	if len(open.Items) == 0 {
		t.Fatal("the seed left no objection open")
	}
	o := open.Items[0]
	h.must(http.StatusOK, caller{o.AddressedTo, nil}, "POST", "/v1/skps/"+o.SKPID+"/evaluations/"+o.Period+"/objection/decision",
		DecisionBody{Outcome: "UPHELD", DecisionText: "Penilaian sudah sesuai bukti."})
	var after consequences.Register
	h.must(http.StatusOK, hr, "GET", "/v1/reports/consequences?year=2025", nil).decode(t, &after)
	last := after.Publications[len(after.Publications)-1]
	if len(after.Current) != len(reg.Current)+1 || last.SKPID != o.SKPID || last.Trigger.Type != "skp.objection_decided.v1" || last.Kind != consequences.Original {
		t.Fatalf("after deciding %s: %d current (was %d), last %+v", o.SKPID, len(after.Current), len(reg.Current), last)
	}
	h.must(http.StatusOK, analyst, "GET", "/v1/reports/consequences?year=2025", nil)
	h.must(http.StatusOK, aud, "GET", "/v1/reports/consequences?year=2025", nil)
	csv := h.must(http.StatusOK, hr, "GET", "/v1/reports/consequences?year=2025&format=csv", nil)
	if lines := strings.Count(string(csv.body), "\n"); lines != len(after.Publications)+1 || !strings.Contains(string(csv.body), "skp.drafted.v1@") {
		t.Errorf("CSV of %d lines for %d publications", lines, len(after.Publications))
	}
	h.must(http.StatusOK, hr, "GET", "/v1/reports/consequences?year=2025&format=xlsx", nil)

	var cal calibration.Report
	h.must(http.StatusOK, analyst, "GET", "/v1/reports/calibration?year=2025", nil).decode(t, &cal)
	if len(cal.Appraisers) == 0 || cal.Agency.N == 0 || cal.Z <= 1.96 {
		t.Fatalf("calibration %+v", cal)
	}
	h.must(http.StatusOK, aud, "GET", "/v1/reports/calibration?year=2025&format=csv", nil)

	// The appraiser heads a section: they see its appraisers, not the
	// agency's, and nobody else's unit.
	leader := caller{st.Cast.Appraiser, nil}
	unit := unitOf[st.Cast.Appraiser]
	var mine calibration.Report
	h.must(http.StatusOK, leader, "GET", "/v1/reports/calibration?year=2025&unit="+unit, nil).decode(t, &mine)
	if len(mine.Appraisers) == 0 || len(mine.Appraisers) >= len(cal.Appraisers) {
		t.Errorf("the leader of %s sees %d of %d appraisers", unit, len(mine.Appraisers), len(cal.Appraisers))
	}
	h.must(http.StatusOK, leader, "GET", "/v1/reports/consequences?year=2025&unit="+unit, nil)

	for _, c := range []struct {
		who    caller
		path   string
		status int
	}{
		{leader, "/v1/reports/calibration?year=2025", 403},
		{leader, "/v1/reports/calibration?year=2025&unit=" + unitOf[st.Cast.Superior], 403},
		{hr, "/v1/reports/calibration?year=2025", 403},
		{clerk, "/v1/reports/consequences?year=2025", 403},
		{caller{st.Cast.Employee, nil}, "/v1/reports/consequences?year=2025", 403},
		{analyst, "/v1/reports/calibration?year=2025&unit=NOPE", 404},
		{analyst, "/v1/reports/calibration", 400},
		{analyst, "/v1/reports/calibration?year=2025-Q1", 400},
		{analyst, "/v1/reports/calibration?year=1800", 400},
		{hr, "/v1/reports/consequences?year=20%0025", 400},
		{hr, "/v1/reports/consequences?year=2025&unit=" + strings.Repeat("x", 5000), 400},
		{hr, "/v1/reports/consequences?year=2025&unit=%01", 400},
		{hr, "/v1/reports/consequences?year=2025&format=pdf", 400},
	} {
		if r := h.request(&c.who, "GET", c.path, nil); r.status != c.status {
			t.Errorf("%s as %s = %d %s, want %d", c.path[:min(len(c.path), 80)], c.who.sub, r.status, r.body, c.status)
		}
	}
	if r := h.request(nil, "GET", "/v1/reports/consequences?year=2025", nil); r.status != 401 {
		t.Errorf("anonymous = %d", r.status)
	}
}
