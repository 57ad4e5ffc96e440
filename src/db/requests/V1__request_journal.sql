-- The request journal's own file, `<database>-requests` (docs/control-plane.md). Until the main
-- file's migration V10 these tables were in the main file, with the same layout (its V7); the emulator moves them here.
--
-- Every Graph request the emulator answered, stored a batch per row: a row per request cost a GET by id about a
-- third of its CPU (14 bound values, a B-tree insert and, once the journal was full, a delete per request).

-- The batches, oldest first. Entry ids are consecutive: a batch holds the entries first_id ..= last_id.
CREATE TABLE request_journal_batches (
    first_id INTEGER PRIMARY KEY,
    last_id  INTEGER NOT NULL CHECK (last_id >= first_id),
    -- A JSON array with one element per entry, each an array of the view's columns after `id`, in its order:
    -- [time, method, path, query, api_version, status, duration_us, request_id, client_request_id,
    --  request_headers (an object), request_body, response_body, image_id, fault_id]. Written only by the journal
    -- writer; not CHECKed with json_valid, which would parse every batch again.
    entries  TEXT    NOT NULL
);

-- One row: the id the next entry gets (ids are never reused, also after the journal is cleared; a reset starts them
-- at 1 again) and the oldest id still kept (--journal-max keeps the newest entries; a batch goes once none of its
-- entries is kept).
CREATE TABLE request_journal_meta (
    only       INTEGER PRIMARY KEY CHECK (only = 1),
    next_id    INTEGER NOT NULL CHECK (next_id >= 1),
    first_kept INTEGER NOT NULL CHECK (first_kept >= 1 AND first_kept <= next_id)
);

INSERT INTO request_journal_meta (only, next_id, first_kept) VALUES (1, 1, 1);

-- The journal as a table of one row per request, newest last: query this, not the batches.
CREATE VIEW request_journal AS
SELECT b.first_id + e.key      AS id,
       e.value ->> 0           AS time,
       e.value ->> 1           AS method,
       e.value ->> 2           AS path,
       e.value ->> 3           AS query,
       e.value ->> 4           AS api_version,
       e.value ->> 5           AS status,
       e.value ->> 6           AS duration_us,
       e.value ->> 7           AS request_id,
       e.value ->> 8           AS client_request_id,
       e.value -> 9            AS request_headers,
       e.value ->> 10          AS request_body,
       e.value ->> 11          AS response_body,
       e.value ->> 12          AS image_id,
       e.value ->> 13          AS fault_id
FROM request_journal_batches AS b, json_each(b.entries) AS e
WHERE b.first_id + e.key >= (SELECT first_kept FROM request_journal_meta);
