package kinerja_test

// TestEventSwitchesAreExhaustive makes the compiler's blind spot a test
// failure: a type switch over the ledger's events (an aggregate's applier,
// a projection, the dashboard's timeline) that names an event of an
// aggregate must account for every event of that aggregate — handle it in
// a case, or list it in ignoredEvents below with the switch. Adding an
// event type (docs/adding-an-event.md) then fails here for every switch
// that has not decided what to do with it.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
)

// eventGoType is an event's Go type: its package path and name.
type eventGoType struct{ pkg, name string }

// ledgerEvents maps every registered event's Go type to its stored name.
func ledgerEvents(t *testing.T) map[eventGoType]string {
	t.Helper()
	out := map[eventGoType]string{}
	for _, typ := range eventcodec.Types() {
		ev, err := eventcodec.Decode(typ, 1, []byte("{}"))
		if err != nil {
			t.Fatalf("decode an empty %s: %v", typ, err)
		}
		rt := reflect.TypeOf(ev)
		out[eventGoType{rt.PkgPath(), rt.Name()}] = typ
	}
	return out
}

// ignoredEvents lists, per switch ("path/file.go:Func"), the events it
// deliberately does not handle. A switch not listed must handle every
// event of the aggregates it names.
var ignoredEvents = map[string][]string{
	// The calibration view reads the units, the people, the annual ratings, their
	// issue, objections and revisions (docs/calibration.md); nothing else rates.
	"projections/calibration/calibration.go:Collector.Add": {
		"employee.transfer_released.v1", // a release moves nobody: the position change that uses it does
		// An improvement plan follows a final rating and changes none (issue 14).
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_concluded.v1",
		"skp.development_action_planned.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_round_opened.v1",
		"employee.reporting_line_assigned.v1",
		"official.registered.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decider_assigned.v1",
		"skp.objection_withdrawn.v1",
		"skp.plan_acknowledged.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.realisation_recorded.v1",
		"skp.receipt_acknowledged.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.submitted.v1",
		"unit.renamed.v1",
		"unit.zone_set.v1",
	},
	// The development report reads the gaps and the development actions only;
	// skp.drafted.v1 makes the state (Fold).
	"projections/development/development.go:State.apply": {
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.coaching_recorded.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.feedback_given.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_round_opened.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decided.v1",
		"skp.objection_decider_assigned.v1",
		"skp.objection_filed.v1",
		"skp.objection_filed_late.v1",
		"skp.objection_withdrawn.v1",
		"skp.plan_acknowledged.v1",
		"skp.rating_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.rating_revised.v1",
		"skp.realisation_recorded.v1",
		"skp.receipt_acknowledged.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.submitted.v1",
	},
	// Only the annual rating, issue, finality, objection decision, a closing and a
	// cancellation change a consequence (docs/consequences.md); skp.drafted.v1 makes the state (Fold).
	"projections/consequences/consequences.go:State.apply": {
		// An improvement plan follows a final rating and changes none (issue 14).
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_concluded.v1",
		"skp.development_action_planned.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_round_opened.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decider_assigned.v1",
		"skp.objection_filed.v1",
		"skp.objection_filed_late.v1",
		"skp.objection_withdrawn.v1",
		"skp.plan_acknowledged.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.realisation_recorded.v1",
		"skp.receipt_acknowledged.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.submitted.v1",
	},
	// Officials without a NIP live in their own stream; this switch does not read it.
	"projections/timeline/projection.go:Summarize": {
		"employee.transfer_released.v1", // a release moves nobody: the position change that uses it does
		"official.registered.v1",
	},
	// Officials without a NIP live in their own stream; this switch does not read it.
	"projections/directory/projection.go:Apply": {
		"employee.transfer_released.v1", // a release moves nobody: the position change that uses it does
		"official.registered.v1",
	},
	// The event's name says it all.
	"adapters/web/feature/skppage/events.go:eventSummary": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.returned.v1",
		"skp.submitted.v1",
	},
	// The creation event makes the aggregate (rehydration).
	"domain/employee/employee.go:Employee.apply": {
		"official.registered.v1",
		"employee.registered.v1",
	},
	// The creation event makes the aggregate (rehydration).
	"domain/orgunit/unit.go:Unit.apply": {
		"unit.registered.v1",
	},
	// The creation event makes the aggregate (rehydration).
	"domain/skp/state.go:SKP.apply": {
		"skp.drafted.v1",
	},
	// Events of no evaluation period.
	"projections/evaluations/projection.go:PeriodOf": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
	},
	// Events of no objection.
	"projections/objections/projection.go:IDOf": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.receipt_acknowledged.v1",
		"skp.evidence_attached.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.rating_assigned.v1",
		"skp.rating_revised.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
	},
	// Events that change no objection.
	"projections/objections/projection.go:relevant": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.receipt_acknowledged.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decided.v1",
		"skp.objection_filed.v1",
		"skp.objection_filed_late.v1",
		"skp.objection_withdrawn.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
	},
	// Events that give no rating.
	"projections/scores/projection.go:ratingPeriod": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.receipt_acknowledged.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decided.v1",
		"skp.objection_filed.v1",
		"skp.objection_filed_late.v1",
		"skp.objection_withdrawn.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
	},
	// Events that change no SKP summary.
	"projections/skps/projection.go:Lifecycle": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.receipt_acknowledged.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decided.v1",
		"skp.objection_filed.v1",
		"skp.objection_filed_late.v1",
		"skp.objection_withdrawn.v1",
		"skp.rating_assigned.v1",
		"skp.rating_revised.v1",
		"skp.realisation_recorded.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
	},
	// Events the timeline does not list.
	"projections/timeline/projection.go:Projection.Apply": {
		"employee.transfer_released.v1", // a release moves nobody: the position change that uses it does
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"official.registered.v1",
		"skp.rating_grounds_recorded.v1",
		"employee.position_changed.v1",
		"employee.registered.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.evaluation_finalised.v1",
		"skp.receipt_acknowledged.v1", // the employee, whose stream it is, is already concerned
		"skp.evidence_attached.v1",
		"skp.explanation_submitted.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_withdrawn.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
		"unit.performance_rated.v2",
		"unit.registered.v1",
		"unit.renamed.v1",
		"unit.zone_set.v1",
	},
	// Events the timeline's state does not need.
	"projections/timeline/projection.go:fold": {
		"skp.coaching_recorded.v1",
		"skp.competency_gap_identified.v1",
		"skp.development_action_planned.v1",
		"skp.development_action_concluded.v1",
		"skp.feedback_round_opened.v1",
		"skp.feedback_round_answered.v1",
		"skp.feedback_round_closed.v1",
		"skp.feedback_answers_disclosed.v1",
		"skp.plan_acknowledged.v1",
		"skp.objection_decider_assigned.v1",
		"skp.rating_grounds_recorded.v1",
		"skp.feedback_giver_assigned.v1",
		"skp.amendment_opened.v1",
		"skp.behaviour_expectation_set.v1",
		"skp.cancelled.v1",
		"skp.closed_for_position_change.v1",
		"skp.drafted.v1",
		"skp.established.v1",
		"skp.evaluation_finalised.v1",
		"skp.evaluation_issued.v1",
		"skp.receipt_acknowledged.v1",
		"skp.evidence_attached.v1",
		"skp.explanation_requested.v1",
		"skp.explanation_submitted.v1",
		"skp.feedback_given.v1",
		"skp.indicator_added.v1",
		"skp.indicator_changed.v1",
		"skp.indicator_removed.v1",
		"skp.objection_decided.v1",
		"skp.objection_withdrawn.v1",
		"skp.rating_assigned.v1",
		"skp.rating_revised.v1",
		"skp.realisation_recorded.v1",
		"skp.returned.v1",
		"skp.rhk_added.v1",
		"skp.rhk_changed.v1",
		"skp.rhk_removed.v1",
		"skp.self_assessment_submitted.v1",
		"skp.improvement_plan_opened.v1",
		"skp.improvement_plan_result_recorded.v1",
		"skp.submitted.v1",
	},
}

func TestEventSwitchesAreExhaustive(t *testing.T) {
	events := ledgerEvents(t)
	byPkg := map[string][]string{}
	for gt, typ := range events {
		byPkg[gt.pkg] = append(byPkg[gt.pkg], typ)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	switches := 0
	for _, p := range listPackages(t) {
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			imports := map[string]string{}
			for _, imp := range file.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				name := ip[strings.LastIndex(ip, "/")+1:]
				if imp.Name != nil {
					name = imp.Name.Name
				}
				imports[name] = ip
			}
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				id := rel(p.ImportPath) + "/" + f + ":" + funcName(fn)
				n := 0
				ast.Inspect(fn.Body, func(node ast.Node) bool {
					sw, ok := node.(*ast.TypeSwitchStmt)
					if !ok {
						return true
					}
					handled := map[string]bool{}
					aggregates := map[string]bool{}
					for _, c := range sw.Body.List {
						for _, e := range c.(*ast.CaseClause).List {
							var gt eventGoType
							switch x := e.(type) {
							case *ast.SelectorExpr:
								pkg, ok := x.X.(*ast.Ident)
								if !ok {
									continue
								}
								gt = eventGoType{imports[pkg.Name], x.Sel.Name}
							case *ast.Ident:
								gt = eventGoType{p.ImportPath, x.Name}
							default:
								continue
							}
							if typ, ok := events[gt]; ok {
								handled[typ] = true
								aggregates[gt.pkg] = true
							}
						}
					}
					if len(aggregates) == 0 {
						return true
					}
					n++
					key := id
					if n > 1 {
						key += "#" + strconv.Itoa(n)
					}
					switches++
					seen[key] = true
					var missing []string
					for pkg := range aggregates {
						for _, typ := range byPkg[pkg] {
							if !handled[typ] && !slices.Contains(ignoredEvents[key], typ) {
								missing = append(missing, typ)
							}
						}
					}
					slices.Sort(missing)
					for _, typ := range missing {
						t.Errorf("%s: the event switch of %s does not handle %s: handle it, or list it in ignoredEvents[%q]", fset.Position(sw.Pos()), key, typ, key)
					}
					for _, typ := range ignoredEvents[key] {
						if handled[typ] {
							t.Errorf("%s handles %s, which ignoredEvents lists as ignored", key, typ)
						}
					}
					return true
				})
			}
		}
	}
	if switches < 5 {
		t.Fatalf("found %d event switches; the scan is broken", switches)
	}
	for key := range ignoredEvents {
		if !seen[key] {
			t.Errorf("ignoredEvents names %s, which is no event switch any more", key)
		}
	}
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if st, ok := typ.(*ast.StarExpr); ok {
		typ = st.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}
