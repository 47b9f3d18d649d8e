-- 0006: per year and NIP, the SKPs that are not cancelled (issue 15,
-- branch pgreports), kept by the skps projection in the transaction that
-- writes the SKP rows they count, in the same way as skp_counts (0005):
-- each Apply nets the old rows of the SKPs it writes against the new ones
-- and upserts only the (year, NIP) whose count moves (skps.go,
-- coverageSQL). The progress board reads it for its missing employees
-- (SKPsReader.EmployeesAndMissing): an employee is missing from year's
-- board when no row (year, NIP) has n > 0. It replaces the board's scan
-- of every SKP row (of every year) and the hash of the covered NIPs by a
-- join on this table's key. A count that fell to 0 stays as a row of 0,
-- read as no row. nip is COLLATE "C" as employees.nip is, so the two
-- indexes are in one order (a merge join needs no sort).
--
-- The rows of the SKPs projected before this migration are filled here,
-- under a lock of skps that waits for the writes in flight to commit and
-- holds off any other until this migration commits, as 0005 does; the
-- same warning holds: stop every writer of the read models of a build
-- before 0006 before migrating (this build's Sink checks the schema
-- version in each transaction), or run kinerjactl projections rebuild
-- skps after; kinerjactl projections check finds the drift.
CREATE TABLE skp_coverage (
    year int4   NOT NULL,
    nip  text   COLLATE "C" NOT NULL,
    n    bigint NOT NULL,
    PRIMARY KEY (year, nip)
);
LOCK TABLE skps IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO skp_coverage (year, nip, n)
SELECT year, nip, count(*) FROM skps WHERE status <> 'CANCELLED' GROUP BY year, nip;
