-- V4: the control plane (issue 5, docs/control-plane.md): the request journal, fault rules and the emulator's clock.

-- Every Graph request the emulator answered, newest last. Bounded by --journal-max (the oldest rows are pruned);
-- written off the request path in batches. Never holds an Authorization value.
CREATE TABLE request_journal (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- When the request arrived (wall clock, RFC 3339 UTC with milliseconds).
    time              TEXT    NOT NULL,
    method            TEXT    NOT NULL,
    -- The path as sent (percent-encoded) and the query string without '?'.
    path              TEXT    NOT NULL,
    query             TEXT    NOT NULL DEFAULT '',
    -- 'beta' or 'v1.0' when the path named one.
    api_version       TEXT    CHECK (api_version IN ('beta', 'v1.0')),
    status            INTEGER NOT NULL CHECK (status BETWEEN 100 AND 599),
    duration_us       INTEGER NOT NULL CHECK (duration_us >= 0),
    request_id        TEXT    NOT NULL,
    client_request_id TEXT    NOT NULL,
    -- A JSON object of selected request headers (Authorization only as "[redacted]").
    request_headers   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(request_headers)),
    -- Bodies as text, cut at --journal-body-max bytes; NULL when there was none.
    request_body      TEXT,
    response_body     TEXT,
    -- The device image the request touched (created, read, deleted, retried), if any.
    image_id          TEXT,
    -- The fault rule that answered or delayed the request, if any.
    fault_id          INTEGER
);

-- Fault rules: make matching Graph requests fail, slow down or be throttled. Durable: they survive a restart.
CREATE TABLE fault_rules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    created        TEXT    NOT NULL,
    -- What a request must be to match: NULL matches any method / version.
    method         TEXT    CHECK (method = upper(method)),
    -- A pattern over the request path, '*' matching any run of characters, compared case-insensitively.
    path_pattern   TEXT    NOT NULL DEFAULT '*',
    api_version    TEXT    CHECK (api_version IN ('beta', 'v1.0')),
    -- 'error': answer with status/error_code (Retry-After on 429/503); 'latency': delay by latency_ms;
    -- 'throttle': allow throttle_limit requests per throttle_window_s seconds, then 429 with Retry-After.
    action         TEXT    NOT NULL CHECK (action IN ('error', 'latency', 'throttle')),
    status         INTEGER CHECK (status BETWEEN 400 AND 599),
    error_code     TEXT,
    message        TEXT,
    retry_after    INTEGER CHECK (retry_after BETWEEN 0 AND 86400),
    latency_ms     INTEGER CHECK (latency_ms BETWEEN 1 AND 60000),
    throttle_limit INTEGER CHECK (throttle_limit >= 1),
    throttle_window_s INTEGER CHECK (throttle_window_s >= 1),
    -- Chance that a matching request is affected, drawn from a generator seeded by --fault-seed and the rule's id.
    probability    REAL    NOT NULL DEFAULT 1 CHECK (probability BETWEEN 0 AND 1),
    -- How many more times the rule may fire before it expires (is deleted); NULL: no limit.
    remaining      INTEGER CHECK (remaining >= 1),
    CHECK ((action = 'error') = (status IS NOT NULL)),
    CHECK ((action = 'latency') = (latency_ms IS NOT NULL)),
    CHECK ((action = 'throttle') = (throttle_limit IS NOT NULL AND throttle_window_s IS NOT NULL))
);

-- Emulator-wide state: one row.
CREATE TABLE emulator_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    -- How far the emulator's clock is ahead of the wall clock (POST /_emulator/clock). Lifecycle times use it.
    clock_offset_ms INTEGER NOT NULL DEFAULT 0 CHECK (clock_offset_ms >= 0)
);
INSERT INTO emulator_state (id, clock_offset_ms) VALUES (1, 0);
