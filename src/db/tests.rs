//! The store's build and its migrations of the journal.

/// `.cargo/config.toml` builds SQLite without its allocation statistics (a global mutex per allocation); a
/// build that lost the flag would be slower without failing anything else.
#[test]
fn sqlite_is_built_without_memory_statistics() {
    let conn = super::migrated_rusqlite_for_tests();
    let used: bool = conn
        .query_row(
            "SELECT sqlite_compileoption_used('DEFAULT_MEMSTATUS=0')",
            [],
            |row| row.get(0),
        )
        .expect("compile options are readable");
    assert!(
        used,
        "LIBSQLITE3_FLAGS from .cargo/config.toml was not applied"
    );
}

const COLUMNS: &str = "time, method, path, query, api_version, status, duration_us, request_id, \
                       client_request_id, request_headers, request_body, response_body, image_id, fault_id";

/// A database file at V6 with two journal entries (ids 3 and 4; id 9 was given and deleted).
fn v6_with_journal(path: &std::path::Path) -> rusqlite::Connection {
    let mut conn = rusqlite::Connection::open(path).expect("a database file");
    super::migrations::runner()
        .set_target(refinery::Target::Version(6))
        .run(&mut conn)
        .expect("V1..V6 apply");
    conn.execute_batch(&format!(
        "INSERT INTO request_journal (id, {COLUMNS}) VALUES \
         (3, '2026-12-01T00:00:00.000Z', 'GET', '/beta/x', '', 'beta', 200, 10, 'r3', 'c3', '{{}}', NULL, NULL, NULL, NULL), \
         (4, '2026-12-01T00:00:01.000Z', 'POST', '/v1.0/y', 'a=1', 'v1.0', 400, 20, 'r4', 'c4', \
          '{{\"accept\":\"*/*\"}}', '{{\"a\":\"\\\"q\"}}', '{{\"error\":{{}}}}', 'img', 7), \
         (9, '2026-12-01T00:00:02.000Z', 'DELETE', '/v1.0/z', '', NULL, 204, 30, 'r9', 'c9', '{{}}', NULL, NULL, NULL, NULL); \
         DELETE FROM request_journal WHERE id = 9;"
    ))
    .expect("V6 journal rows");
    conn
}

/// The journal's rows, each with every column and the types of two, as JSON text.
fn journal_rows(conn: &rusqlite::Connection) -> Vec<String> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT json_array(id, {COLUMNS}, typeof(status), typeof(fault_id)) FROM request_journal ORDER BY id"
        ))
        .expect("the journal reads");
    statement
        .query_map([], |row| row.get(0))
        .expect("rows")
        .map(|row| row.expect("a row"))
        .collect()
}

/// The journal's next id and first kept id.
fn counters(conn: &rusqlite::Connection) -> (i64, i64) {
    conn.query_row(
        "SELECT next_id, first_kept FROM request_journal_meta",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .expect("one meta row")
}

/// V7 moves the journal into batches, V10 into a file of its own: every entry a V6 database held reads back the
/// same through the `request_journal` view, with its id, and new entries are numbered after the highest id ever
/// given. A start killed after the copy into the journal's file and before V10 copies the same again.
#[test]
fn the_journal_keeps_every_entry_and_its_id_through_v7_and_its_move() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let mut conn = v6_with_journal(&path);
    let before = journal_rows(&conn);
    assert_eq!(before.len(), 2);
    super::migrations::runner()
        .set_target(refinery::Target::Version(super::requests::MAIN_BEFORE_MOVE))
        .run(&mut conn)
        .expect("V7..V9 apply");
    assert_eq!(
        journal_rows(&conn),
        before,
        "the same rows, ids, values and types"
    );
    assert_eq!(
        counters(&conn),
        (10, 3),
        "id 9 was given once, so the next is 10"
    );
    // The copy of a start killed before V10 ran; the next start copies again.
    super::requests::prepare(&path, &conn).expect("the journal is copied");
    drop(conn);
    super::migrate_file(&path).expect("the start's migrations");
    let main = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = main
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'request_journal%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "V10 dropped the journal from the main file");
    let moved = rusqlite::Connection::open(dir.path().join("e.db-requests")).unwrap();
    assert_eq!(
        journal_rows(&moved),
        before,
        "the same rows in the journal's file, once"
    );
    assert_eq!(counters(&moved), (10, 3), "its counters too");
}
