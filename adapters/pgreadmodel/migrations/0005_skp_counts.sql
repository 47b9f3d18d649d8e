-- 0005: the SKP counts of each unit, year and status (issue 15, branch
-- pgtally), kept by the skps projection in the transaction that writes the
-- SKP rows they count: each Apply takes the old rows of the SKPs it writes
-- out of their counts and adds the new rows in, in the same batch
-- (skps.go, skpsStage.flush). The progress board reads them
-- (SKPsReader.CountForYear) instead of aggregating every SKP row of the
-- subtree: at a province's root ≤ units × statuses rows. late counts the
-- SKPs of the (unit, year, status) with their late flag set, as
-- count(*) FILTER (WHERE late) did. A count that fell to 0 stays as a row
-- of 0, read as no row.
--
-- The counts of the SKPs projected before this migration are filled here,
-- under a lock of skps that waits for the writes in flight to commit (the
-- backfill then sees them) and holds off any other until this migration
-- commits. A build before 0005 knows nothing of skp_counts: one that writes
-- skps rows after this migration commits makes the counts drift for good
-- (this build's Sink checks the schema version in each transaction; an
-- older one does not). Stop every writer of the read models before
-- migrating to 0005, or run kinerjactl projections rebuild skps after;
-- kinerjactl projections check finds the drift (docs/operations.md).
-- A rebuild of skps started before it has no skp_counts table of its own:
-- abort it (kinerjactl projections rebuild skps starts afresh).
CREATE TABLE skp_counts (
    unit_id text   NOT NULL,
    year    int4   NOT NULL,
    status  text   NOT NULL,
    n       bigint NOT NULL,
    late    bigint NOT NULL,
    PRIMARY KEY (unit_id, year, status)
);
LOCK TABLE skps IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO skp_counts (unit_id, year, status, n, late)
SELECT unit_id, year, status, count(*), count(*) FILTER (WHERE late) FROM skps GROUP BY unit_id, year, status;
