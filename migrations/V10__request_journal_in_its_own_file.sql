-- V10: the request journal moves to a file of its own, `<database>-requests` (issue 17,
-- docs/control-plane.md), whose schema lives in src/db/requests/.
--
-- In this file the journal's writer held the single writer connection for ~8 ms of every 100 ms and put a
-- megabyte-sized batch into the WAL that every image commit syncs: creates ran 7% faster without it. Before this
-- migration runs, the emulator copies the journal's batches and its id counters into the new file (db/requests.rs:
-- a migration cannot ATTACH another file inside its transaction), so every entry keeps its id; then they go here.
-- A view cannot refer to another file, so `request_journal` is now queried in `<database>-requests`.
DROP VIEW request_journal;
DROP TABLE request_journal_batches;
DROP TABLE request_journal_meta;
