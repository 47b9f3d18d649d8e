-- 0003: the time zone a unit works in (unit.zone_set.v1, issue 13):
-- WIB, WITA or WIT, '' for the agency's zone. Units projected before this
-- migration have no zone event yet, so '' is already their value.
ALTER TABLE units ADD COLUMN zone text NOT NULL DEFAULT '';
