package wiring

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// PolicyFlags are the appraisal policy's flags that decide dates and
// deadlines, the same in kinerjad and the projector (which runs the
// deadline process manager and the read models in server mode): a
// projector left on the defaults would give a WITA agency WIB deadlines
// (issue 11).
type PolicyFlags struct {
	// Zone is WIB, WITA or WIT.
	Zone string
	// EstablishDeadline is MM-DD.
	EstablishDeadline string
	// Cadence is QUARTERLY or MONTHLY.
	Cadence string
	// ObjectionWindowDays is the objection window in days.
	ObjectionWindowDays int
	// DistributionMode is WARN or BLOCK.
	DistributionMode string
}

// Zones are the zones --zone accepts (fixed: Indonesia keeps no daylight
// saving time).
var Zones = map[string]*time.Location{
	"WIB": policy.WIB, "WITA": time.FixedZone("WITA", 8*3600), "WIT": time.FixedZone("WIT", 9*3600),
}

// RegisterFlags registers the flags on fs.
func (p *PolicyFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&p.Zone, "zone", "WIB", "the agency's time zone: WIB, WITA or WIT (deadlines, dates, and the times the dashboard, exports and documents show)")
	fs.StringVar(&p.Cadence, "cadence", "QUARTERLY", "periodic evaluation cadence: QUARTERLY or MONTHLY")
	fs.StringVar(&p.EstablishDeadline, "establish-deadline", "01-31", "SKP establishment deadline MM-DD")
	fs.IntVar(&p.ObjectionWindowDays, "objection-window-days", 14, "objection window in days")
	fs.StringVar(&p.DistributionMode, "distribution-mode", "WARN", "distribution pattern: WARN or BLOCK")
}

// Apply sets the flags' values on pol; it reports every flag that does
// not parse (the policy's own Validate judges the rest).
func (p PolicyFlags) Apply(pol *policy.Policy) error {
	var errs []error
	pol.Cadence = period.Cadence(strings.ToUpper(p.Cadence))
	var m, d int
	if _, err := fmt.Sscanf(p.EstablishDeadline, "%d-%d", &m, &d); err == nil && m >= 1 && m <= 12 && d >= 1 && d <= 31 {
		pol.EstablishDeadline = policy.MonthDay{Month: time.Month(m), Day: d}
	} else {
		errs = append(errs, fmt.Errorf("--establish-deadline %q: want MM-DD", p.EstablishDeadline))
	}
	pol.ObjectionWindowDays = p.ObjectionWindowDays
	if loc, ok := Zones[strings.ToUpper(p.Zone)]; ok {
		pol.Location = loc
	} else {
		errs = append(errs, fmt.Errorf("--zone %q: want WIB, WITA or WIT", p.Zone))
	}
	pol.DistributionMode = policy.DistributionMode(strings.ToUpper(p.DistributionMode))
	return errors.Join(errs...)
}
