// Package domain is the pure core of Kinerja Ledger: the rules of performance
// appraisal for Indonesian civil servants (PermenPANRB 6/2022, PP 30/2019,
// SE MenPANRB 3/2023) as event-sourced Go. This package holds what every
// part of the domain shares: the error kinds, the event envelope, the event
// log port, the command handler and the event registry. The rules live in
// the packages below it.
//
// # The model in one page
//
// Everything the ledger knows is a sequence of events in streams. A command
// loads the stream it writes, decides on the state rebuilt from it, and
// appends new events with the stream's revision as the expected revision.
// Each command writes exactly one stream:
//
//	unit-{unit_id}                      orgunit: registration (a tree), organisation predikat per period, unit heads
//	employee-{nip}                      employee: registration, effective-dated reporting lines, position changes
//	skp-{skp_id}                        skp: the plan, its versions, realisations, evidence, feedback,
//	                                    evaluations per period and the objection to each evaluation
//	distribution-{unit_id}-{period}     distribution: justified deviations from the distribution pattern
//
// The SKP (Sasaran Kinerja Pegawai, the annual performance plan) is the
// centre. Its id is {nip}-{year}; a cancelled or closed SKP makes room for
// {nip}-{year}-2, and so on ([skp.NextID]). An employee drafts it, adds
// planned results (RHK) linked to an RHK of the appraiser's established SKP
// (the cascading link; JPT posts may cite the Perjanjian Kinerja instead),
// adds indicators with targets, and submits; the appraiser returns it or
// establishes it (version 1, flagged late after 31 January by default). An
// amendment reopens it; the next establishment makes version n+1, and
// evaluations already given are never touched. The employee records
// realisations and evidence against the version in effect; the appraiser,
// colleagues of the unit and the employee give feedback.
//
// For each period (the year "2026", or a quarter "2026-Q1" or month
// "2026-01" of the configured cadence) the appraiser rates work results and
// behaviour; the predikat is derived by the matrix of domain.md §4.2
// ([rating.Derive]), never supplied. Replacing a rating before issue needs a
// reason and records old and new values. Issuing locks the ratings and
// records the delivery, from which the objection window runs (14 calendar
// days by default). The evaluation is FINAL when the window passes, when an
// objection is decided, or at once when the period allows no objection. An
// objection (keberatan) is filed by the employee or recorded by a grievance
// clerk with its filing date; the appraiser's superior as of that date
// requests explanations from both parties and decides, UPHELD or CHANGED;
// a change is a rating revision with source OBJECTION. The decision is
// final.
//
// Who may do what is decided by [authz] from the reporting lines in effect
// on the date of the action (the request's occurred_at), never from a
// snapshot: the employee plans and objects, the appraiser in effect rates,
// the appraiser's superior decides objections; HR_ADMIN never rates; the
// decider is never the original appraiser.
//
// # Time, identity and purity
//
// The domain never reads the clock, draws random numbers or does I/O. The
// [Handler] receives the clock (Now) and the identifier generator (NewID);
// every command receives a [Request] with the caller, the tracing
// identifiers, the reason and occurred_at (business time). Rules that
// compare dates (deadlines, the objection window, delivery after the
// rating, the reporting line in effect) use occurred_at; the event store
// stamps recorded_at, which "as of" reads use. Dates come from instants in
// the policy's fixed zone (WIB by default).
//
// # Events, the persisted contract
//
// Events are immutable structs with explicit snake_case JSON tags and
// explicit, versioned names ("skp.rating_assigned.v1"), never derived from
// Go type names. [Registry] encodes and decodes them and runs the upcaster
// chain from an older (type, schema version) to the latest shape;
// package eventcodec registers every type of the ledger and fixes the JSON
// of each with a golden file. Appliers ([skp.Replay], [employee.Replay], …)
// never fail: they apply facts that were validated when decided.
//
// # Errors
//
// Every error matches one kind with errors.Is, for the HTTP layer's one
// table: [ErrNotFound] (404, also for what the caller may not see),
// [ErrConflict] (409 conflict), [ErrInvalidState] (409 invalid_state),
// [ErrForbidden] (403), [ErrValidation] (422, a [*ValidationError] listing
// each field), [ErrObjectionWindowClosed] (422), [ErrDistributionBlocked] (422), [ErrRevisionMismatch] (412,
// a stale If-Match in [Request.IfMatch]), and [ErrConcurrency] (the log's
// revision conflict, retried by [Handler] and returned only when every
// attempt lost).
//
// # Configurable assumptions
//
// Every rule domain.md tags [U] is configuration in package policy, with
// the default the document proposes:
//
//	Setting                    Default                           Why configurable
//	Cadence                    QUARTERLY                         monthly or quarterly per agency (§3.1)
//	EstablishDeadline          31 January                        confirmed for 8/2021 only (§3.1)
//	ObjectionWindowDays        14                                from the LAN summary of PP 30/2019 (§5)
//	ObjectionWorkingDays       false (calendar days)             calendar vs working days unknown (§5)
//	Holidays                   none                              for working-day windows
//	PeriodicObjections         false (annual only)               periodic objections unknown (§5)
//	RecordLateObjections       false (refuse)                    §5 invariant 2 allows either
//	ObjectionDecisionSLADays   14                                no decision deadline found (§5)
//	HRAdminMayDraft            true                              drafting on behalf, 8/2021 only (§2.1)
//	DistributionMode           WARN (justify) | BLOCK            pattern is a "pertimbangan" (§4.4)
//	DistributionPopulation     UNIT_AND_SUBUNITS                 population undefined (§4.4)
//	UnitHeadRating             ISTIMEWA→DI_ATAS, BAIK→SESUAI,    mapping not found (§4.3)
//	                           others→DI_BAWAH
//	RequireOrgPredikat         false                             three-stage order (§4.3); off so the
//	                                                             API's rating flow has no hidden step
//	AppraiserMinimumRank       true                              Pengawas or above unless delegated (§2.1)
//	Location                   WIB (UTC+07:00)                   where instants become dates
//	Version                    PERMENPANRB_6_2022+SE_3_2023      recorded in events (§7.3 #9)
//
// The distribution pattern itself (SE 3/2023 percentages, a single
// secondary source) is data: [distribution.SE3_2023], replaceable by any
// [distribution.Pattern].
//
// # Packages
//
//	domain         error kinds, envelope, EventLog port, Handler, Registry, stream names
//	calendar       civil dates, working days
//	nip            NIP and NI PPPK parsing (type, birth date, sex)
//	period         evaluation periods and the cadence
//	rating         ratings, the predikat matrix, organisation predikat
//	berakhlak      the seven core values
//	policy         the configuration above
//	authz          who may do what, telling 404 from 403
//	orgunit        units, organisation predikat, unit heads
//	employee       employees and reporting lines
//	skp            the SKP with its evaluations and objections
//	distribution   the distribution pattern and justified deviations
//	eventcodec     every event type: Encode, Decode, Types
//	memlog         an in-memory EventLog (tests, examples)
//	domaintest     test support: clock, IDs, ready environment
package domain
