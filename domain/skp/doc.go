// Package skp provides the SKP (Sasaran Kinerja Pegawai): an employee's
// annual performance plan with everything that happens to it — its versions,
// realisations, evidence and feedback, the periodic and annual evaluations,
// and the objection to each evaluation. All of it lives in one stream,
// skp-{skp_id}, so that every command writes one stream and the state "as
// of" any moment is a replay of one stream ([Replay] over a prefix).
//
// # Identity
//
// The first SKP of an employee for a year is {nip}-{year}; when it is
// cancelled or closed for a position change, the next is {nip}-{year}-2,
// then -3. [NextID] picks the next id; the draft is appended to a stream
// that must not exist yet, which (with the check that earlier ones ended)
// guarantees at most one open SKP per employee and year, even under
// concurrent drafts.
//
// # Lifecycle (domain.md §3.2–3.3)
//
//	DRAFT ──submit──▶ SUBMITTED ──establish──▶ ESTABLISHED ──amend──▶ AMENDMENT
//	  ▲                  │                         ▲                     │
//	  └─────return───────┘                         └──────establish──────┘ (version n+1)
//	any open state ──cancel──▶ CANCELLED   any open state ──close──▶ CLOSED_FOR_POSITION_CHANGE
//
// The plan (RHK and indicators) changes only in DRAFT and AMENDMENT.
// Submission and establishment need at least one UTAMA RHK, an indicator on
// every RHK, and for every UTAMA RHK the cascading link to an RHK of the
// appraiser's established SKP of the same year (a JPT post may cite the
// Perjanjian Kinerja in pk_ref instead); links may stay pending while
// drafting. Establishment records the appraiser in effect and, for version
// 1, whether it happened after the deadline (late is a flag, not a state).
// During an amendment the last established version stays in effect:
// realisations and evidence name indicators of that version.
//
// # Evaluations
//
// A period's evaluation goes DRAFT (rated) → ISSUED (delivered; the
// objection window runs) → FINAL, or UNDER_OBJECTION → FINAL when decided.
// The status is derived at read time from the recorded facts and the
// instant of the read: an issued evaluation whose window has passed reads
// FINAL. That derived finality is provisional — a paper objection filed
// within the window may still be recorded (the filing date counts) — until
// finality is recorded: by [Service.Finalise] (event
// skp.evaluation_finalised.v1), by a decision, or at issue when the period
// allows no objection. [EvaluationView.FinalityRecorded] tells which.
//
// Ratings: the predikat is always rating.Derive(work result, behaviour).
// The first rating of a period is skp.rating_assigned.v1; each replacement
// is skp.rating_revised.v1 carrying the scores it replaces, the reason and
// the event it supersedes, with source APPRAISER (before issue) or
// OBJECTION (a CHANGED decision). When the employee heads a unit, the work
// result follows the unit's organisation predikat through the policy's
// mapping.
//
// # Objections (domain.md §5)
//
// The employee files, or a grievance clerk records a paper filing with its
// filing date, within the window from delivery; later filings are refused
// with [WindowClosedError] (or recorded as late when configured, to be
// rejected). At most one objection per evaluation is open, none after a
// decision; a withdrawn one may be followed by another within the window.
// The appraiser's superior as of the filing date requests explanations from
// the appraiser and the employee (each explains only once asked) and
// decides — never the original appraiser. The decision is final.
//
// # Reading
//
// [Service.Read] returns a [View] of the SKP now or as of a revision or
// recorded instant; [Service.Evaluation] one period; [Service.ScoreHistory]
// every rating ever given; [Service.Authorize] answers the authorisation
// question for reads served elsewhere (the event list).
package skp
