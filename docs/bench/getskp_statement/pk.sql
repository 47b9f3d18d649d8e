SELECT * FROM kinerja.events WHERE stream='skp-196901021993101897-2025' AND revision=33;
