-- reports_synth.sql: synthetic read models at a province's size for
-- docs/bench/reports_compute.go (issue 15, branch pgreports), into a
-- database migrated by the build to be measured (kinerjactl migrate):
-- :units units (ten children a unit), :emps employees, an SKP of 2025 for
-- all but 500 (1 % each DRAFT, SUBMITTED, CANCELLED; one in ten late), and
-- for each SKP but the DRAFT and SUBMITTED ones its four quarterly and its
-- annual evaluations (the CANCELLED ones' too, which the distribution
-- leaves out). The counts tables are filled by the migrations' own
-- backfill statements. psql -v units=10000 -v emps=100000 -f …
SET search_path = kinerja_rm;
INSERT INTO units (registered_at, id, name, parent_id)
SELECT now(), 'U'||i, 'Unit '||i, CASE WHEN i = 0 THEN '' ELSE 'U'||((i-1)/10) END FROM generate_series(0, :units - 1) i;
INSERT INTO employees (nip, name, asn_type, unit_id, position_kind, position_title)
SELECT lpad(i::text, 18, '0'), 'E'||i, 'PNS', 'U'||(i % :units), 'PELAKSANA', 'x' FROM generate_series(0, :emps - 1) i;
INSERT INTO skps (year, sequence, version, late, drafted_on_behalf, revision, position, drafted_at, updated_at, recorded_at,
  id, nip, name, unit_id, status, appraiser_nip, appraiser_superior_nip)
SELECT 2025, 1, 1, i % 10 = 0, false, 1, i, '2025-01-20', '2025-01-20', '2025-01-20',
  'SKP-'||lpad(i::text, 8, '0'), lpad(i::text, 18, '0'), 'E'||i, 'U'||(i % :units),
  CASE i % 100 WHEN 1 THEN 'DRAFT' WHEN 2 THEN 'SUBMITTED' WHEN 3 THEN 'CANCELLED' ELSE 'ESTABLISHED' END, '', ''
FROM generate_series(0, :emps - 501) i;
INSERT INTO evaluations (year, finality_recorded, revision, rated_at, delivered_at, objection_deadline, skp_id, period, period_key,
  nip, unit_id, work_result, behaviour, predikat, status, appraiser_nip)
SELECT 2025, true, 1, timestamptz '2025-12-20' + (i % 7) * interval '1 hour', NULL, NULL, 'SKP-'||lpad(i::text, 8, '0'), p.period, p.key,
  lpad(i::text, 18, '0'), 'U'||(i % :units), 'SESUAI', 'SESUAI',
  (ARRAY['SANGAT_BAIK','BAIK','BAIK','BAIK','BUTUH_PERBAIKAN','KURANG'])[1 + i % 6], 'FINAL', ''
FROM generate_series(0, :emps - 501) i,
  (VALUES ('2025', '2025-99'), ('2025-Q1', '2025-01-01'), ('2025-Q2', '2025-04-01'), ('2025-Q3', '2025-07-01'), ('2025-Q4', '2025-10-01')) p(period, key)
WHERE i % 100 NOT IN (1, 2);
INSERT INTO skp_counts (unit_id, year, status, n, late)
SELECT unit_id, year, status, count(*), count(*) FILTER (WHERE late) FROM skps GROUP BY unit_id, year, status;
-- skp_coverage (read-model migration 0006) where the schema has it.
DO $$ BEGIN
  IF to_regclass('kinerja_rm.skp_coverage') IS NOT NULL THEN
    INSERT INTO kinerja_rm.skp_coverage (year, nip, n)
    SELECT year, nip, count(*) FROM kinerja_rm.skps WHERE status <> 'CANCELLED' GROUP BY year, nip;
  END IF;
END $$;
VACUUM ANALYZE;
