-- State in (docs/state.md): `--seed FILE` is applied once, at the first start of a new database (or at every start
-- with `--seed-mode always`).
--
-- seed_pending: 1 until the database's first start has passed (with or without a seed). The seed and the flag are
-- written in one transaction, so a start killed before it commits applies the seed again at the next start. A
-- database that existed before this migration and was ever used (it holds images or fault rules, its clock moved,
-- or its journal numbered a request) is not new; one that was never used is, and takes a seed like a new one.
ALTER TABLE emulator_state ADD COLUMN seed_pending INTEGER NOT NULL DEFAULT 1 CHECK (seed_pending IN (0, 1));

UPDATE emulator_state SET seed_pending = 0
WHERE EXISTS (SELECT 1 FROM device_images)
   OR EXISTS (SELECT 1 FROM fault_rules)
   OR clock_offset_ms <> 0
   OR (SELECT next_id FROM request_journal_meta) > 1;
