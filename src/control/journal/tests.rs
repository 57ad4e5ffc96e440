//! The journal's writer against a real database: the sync level it leaves, its bounds and its order.

use super::*;

/// Power-loss durability rests on every image commit running with `synchronous=FULL`, and the journal must not
/// cost the image writer its lock or its syncs: its batches go to a file of their own (`<database>-requests`), whose
/// commits are not synced, and the main file has no journal table left.
#[tokio::test]
async fn the_journal_writes_its_own_file_and_leaves_the_writer_at_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir).await;
    let level = |pool: sqlx::SqlitePool| async move {
        sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(level(db.writer.clone()).await, 2, "FULL when opened");
    assert_eq!(
        level(db.requests.pool.clone()).await,
        1,
        "the journal's file: NORMAL"
    );
    let journal = Journal::spawn(db.clone(), 100, 1000);
    let headers = HeaderMap::new();
    for n in 0..3 {
        journal.record(&entry(&format!("/beta/{n}"), None, &headers));
        journal.flush().await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM request_journal")
        .fetch_one(&db.requests.pool)
        .await
        .unwrap();
    assert_eq!(rows, 3, "the journal wrote");
    let in_main: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'request_journal%'")
            .fetch_one(&db.writer)
            .await
            .unwrap();
    assert_eq!(in_main, 0, "the main file holds no journal");
    assert_eq!(
        level(db.writer.clone()).await,
        2,
        "FULL after the journal's writes"
    );
    journal.stop().await;
    db.close().await;
    let file = dir.path().join("e.db-requests");
    assert!(file.is_file(), "the journal's file beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by its owner only");
    }
}

async fn open(dir: &tempfile::TempDir) -> Database {
    let path = dir.path().join("e.db");
    Database::open(
        path.to_str().unwrap(),
        crate::config::Synchronous::Full,
        None,
    )
    .await
    .unwrap()
}

/// A journal that keeps a million entries and 1-MiB bodies, on a new database.
async fn roomy_journal() -> (tempfile::TempDir, Database, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir).await;
    let journal = Journal::spawn(db.clone(), 1_000_000, 1 << 20);
    (dir, db, journal)
}

fn entry<'a>(path: &'a str, body: Option<&'a str>, headers: &'a HeaderMap) -> JournalEntry<'a> {
    JournalEntry {
        time: Utc::now(),
        method: "POST",
        path,
        query: "",
        api_version: Some("beta"),
        status: 201,
        duration_us: 1,
        request_id: "r",
        client_request_id: "c",
        request_headers: headers,
        request_body: body,
        response_body: None,
        image_id: None,
        fault_id: None,
    }
}

/// A request never waits for the writer: once the pending batch holds `CAPACITY` entries, or `CAPACITY_BYTES` of
/// text, further entries are dropped and counted, and what was kept is stored whole. (The test's runtime has one
/// thread, so the writer cannot run while the entries are recorded.)
#[tokio::test]
async fn a_full_batch_drops_entries_and_counts_them() {
    let (_dir, db, journal) = roomy_journal().await;
    let headers = HeaderMap::new();
    for _ in 0..CAPACITY + 3 {
        journal.record(&entry("/beta/x", None, &headers));
    }
    assert_eq!(journal.dropped.load(Ordering::Relaxed), 3);
    journal.flush().await;
    assert_eq!(stored_rows(&db).await.unwrap(), CAPACITY as i64);

    let body = "b".repeat(1 << 20);
    let lots = CAPACITY_BYTES / body.len() + 4;
    for _ in 0..lots {
        journal.record(&entry("/beta/big", Some(&body), &headers));
    }
    let dropped = journal.dropped.load(Ordering::Relaxed) - 3;
    assert!(
        (1..=4).contains(&dropped),
        "{dropped} of {lots} 1-MiB entries dropped"
    );
    journal.flush().await;
    let big: Vec<i64> = sqlx::query_scalar(
        "SELECT length(request_body) FROM request_journal WHERE path = '/beta/big'",
    )
    .fetch_all(&db.requests.pool)
    .await
    .unwrap();
    assert_eq!(big.len() as u64, lots as u64 - dropped);
    assert!(big.iter().all(|&n| n == 1 << 20), "every kept body whole");
    journal.stop().await;
    db.close().await;
}

/// Entries recorded from many threads at once are each stored once, whole, with consecutive ids, and each thread's
/// entries in the order it recorded them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_from_many_threads_keep_their_order() {
    let (_dir, db, journal) = roomy_journal().await;
    let journal = Arc::new(journal);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let journal = journal.clone();
            std::thread::spawn(move || {
                let headers = HeaderMap::new();
                for n in 0..2_000 {
                    let path = format!("/beta/{t}/{n}");
                    journal.record(&entry(&path, Some("{\"a\":\"\\\"\"}"), &headers));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    journal.flush().await;
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, path, request_body FROM request_journal ORDER BY id")
            .fetch_all(&db.requests.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 8_000);
    assert_eq!(journal.dropped.load(Ordering::Relaxed), 0);
    let mut next = [0; 4];
    for (i, (id, path, body)) in rows.iter().enumerate() {
        assert_eq!(*id, i as i64 + 1, "consecutive ids");
        assert_eq!(body, "{\"a\":\"\\\"\"}");
        let (t, n) = path["/beta/".len()..].split_once('/').unwrap();
        let t: usize = t.parse().unwrap();
        assert_eq!(n.parse::<usize>().unwrap(), next[t], "thread {t} in order");
        next[t] += 1;
    }
    journal.stop().await;
    db.close().await;
}

/// The batch's buffers are reused, but a burst of large bodies does not keep their memory once it is written.
#[tokio::test]
async fn a_burst_of_large_entries_does_not_keep_its_memory() {
    let (_dir, db, journal) = roomy_journal().await;
    let headers = HeaderMap::new();
    let capacity = || {
        journal
            .shared
            .as_ref()
            .unwrap()
            .pending
            .lock()
            .unwrap()
            .text
            .capacity()
    };
    let body = "b".repeat(1 << 20);
    for _ in 0..20 {
        journal.record(&entry("/beta/big", Some(&body), &headers));
    }
    assert!(capacity() > 20 << 20);
    // The writer takes the large buffer, then the next batch hands it back.
    for _ in 0..2 {
        journal.flush().await;
        journal.record(&entry("/beta/small", None, &headers));
    }
    assert!(capacity() <= BATCH_BYTES, "{} bytes kept", capacity());
    journal.flush().await;
    assert_eq!(stored_rows(&db).await.unwrap(), 22);
    journal.stop().await;
    db.close().await;
}

/// SQLite keeps every connection's pages in one pool bounded by a count of pages, not bytes (it is built with
/// `SQLITE_ENABLE_MEMORY_MANAGEMENT`), so a journal connection that kept its 64-KB pages would take the slots of the
/// images' 4-KB pages as they age: ~14 MB at a million images. Its pages are released whenever the connection is
/// given back: after each batch it writes, and after a read of the journal.
#[tokio::test]
async fn the_journal_connection_keeps_no_pages_between_uses() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir).await;
    // The image writer's cache full of older pages: slots the journal could take.
    sqlx::query(
        "CREATE TABLE filler AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
         SELECT randomblob(4000) AS b FROM n",
    )
    .execute(&db.writer)
    .await
    .unwrap();
    let filled: i64 = sqlx::query_scalar("SELECT sum(length(b)) FROM filler")
        .fetch_one(&db.writer)
        .await
        .unwrap();
    assert_eq!(filled, 3000 * 4000);
    assert!(
        cache_used(&db.writer).await > 1 << 20,
        "the writer's pages are cached"
    );
    let journal = Journal::spawn(db.clone(), 20, 1 << 20);
    let headers = HeaderMap::new();
    let body = "b".repeat(200_000);
    for _ in 0..30 {
        for _ in 0..5 {
            journal.record(&entry("/beta/big", Some(&body), &headers));
        }
        journal.flush().await;
    }
    assert_eq!(
        stored_rows(&db).await.unwrap(),
        20,
        "the oldest were pruned"
    );
    let kept = cache_used(&db.requests.pool).await;
    assert!(
        kept < 1 << 20,
        "{kept} bytes of pages kept after the writes"
    );
    let read: i64 = sqlx::query_scalar("SELECT sum(length(request_body)) FROM request_journal")
        .fetch_one(&db.requests.pool)
        .await
        .unwrap();
    assert_eq!(read, 20 * 200_000);
    let kept = cache_used(&db.requests.pool).await;
    assert!(kept < 1 << 20, "{kept} bytes of pages kept after a read");
    journal.stop().await;
    db.close().await;
}

/// The bytes of page cache that `pool`'s connection holds (`SQLITE_DBSTATUS_CACHE_USED`).
async fn cache_used(pool: &sqlx::SqlitePool) -> i32 {
    let mut conn = pool.acquire().await.unwrap();
    let mut handle = conn.lock_handle().await.unwrap();
    let (mut current, mut highest) = (0, 0);
    // SAFETY: the handle is an open connection, locked to this thread for the call; the out-pointers are valid.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_status(
            handle.as_raw_handle().as_ptr(),
            libsqlite3_sys::SQLITE_DBSTATUS_CACHE_USED,
            &mut current,
            &mut highest,
            0,
        )
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
    current
}
