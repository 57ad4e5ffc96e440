-- V7: the request journal is stored a batch per row (issue 17, docs/control-plane.md#request-journal).
--
-- A row per request cost a GET by id about a third of its CPU (14 bound values, a B-tree insert and, once the journal
-- was full, a delete per request). The writer already gathered entries into batches; it now stores each
-- batch as one row holding a JSON array, and prunes whole batches. `request_journal` stays readable with the same
-- columns, ids and order: it is now a view that expands the batches.

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

-- One row: the id the next entry gets (ids are never reused, also after the journal is cleared) and the oldest id
-- still kept (--journal-max keeps the newest entries; a batch goes once none of its entries is kept).
CREATE TABLE request_journal_meta (
    only       INTEGER PRIMARY KEY CHECK (only = 1),
    next_id    INTEGER NOT NULL CHECK (next_id >= 1),
    first_kept INTEGER NOT NULL CHECK (first_kept >= 1 AND first_kept <= next_id)
);

INSERT INTO request_journal_meta (only, next_id, first_kept)
SELECT 1, next_id, coalesce((SELECT min(id) FROM request_journal), next_id)
FROM (SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'request_journal'), 0),
                 coalesce((SELECT max(id) FROM request_journal), 0)) + 1 AS next_id);

-- Every existing entry keeps its id, as a batch of one.
INSERT INTO request_journal_batches (first_id, last_id, entries)
SELECT id, id, json_array(json_array(time, method, path, query, api_version, status, duration_us, request_id,
                                     client_request_id, json(request_headers), request_body, response_body,
                                     image_id, fault_id))
FROM request_journal;

DROP TABLE request_journal;
DELETE FROM sqlite_sequence WHERE name = 'request_journal';

-- The journal as a table of one row per request, newest last, as V4 defined it (the same columns and types).
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
