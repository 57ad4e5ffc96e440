//! Bench-only baseline (issue 8): the floor of the emulator's design on this machine. The same actix-web setup as
//! the emulator and exactly the database work of its hot paths, through sqlx on the emulator's own schema, and
//! nothing else (no validation, no OData, no journal, no logging):
//! - `GET …/{id}`: one `SELECT` by tenant and id on a read-only connection of the worker's own (no pool) of the
//!   image's JSON built inside SQLite (`json_object`, as the emulator builds it), answered as it is; with `?$top=N`,
//!   the first N images in creation order, each built the same way, joined into a page;
//! - `POST`: the body's displayName and version, sent to one writer task that group-commits (as
//!   `src/device_images/writer.rs` does: take what waits, `BEGIN`, one multi-row `INSERT OR IGNORE … RETURNING` per
//!   32 creates, `COMMIT` with `synchronous=FULL`), answered 201 after the commit.
//!
//! The same allocator as the emulator (mimalloc). `bench/run.sh` measures it between the fixed-answer ceiling (`bench/fixed.rs`) and the emulator. Not part of the
//! emulator. Usage: `cargo run --release --example floor -- DATABASE [ADDR]` on a database the emulator has
//! migrated (and `bench/fill.sql` filled).

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot, Mutex};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "floor_shared.rs"]
mod shared;
use shared::{JSON, TENANT};

const COLUMNS: &str = "id, display_name, version, source_image_resource_id, operating_system, os_build_number, \
    os_version_number, os_status, size_in_gb, expiration_date, status, error_code, last_modified_date_time";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    display_name: String,
    version: String,
    source_image_resource_id: String,
}

type Job = (Create, oneshot::Sender<Option<Vec<u8>>>);

/// An image as JSON, borrowed from its row (no copies beyond sqlx's own).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image<'a> {
    id: Option<&'a str>,
    display_name: Option<&'a str>,
    version: Option<&'a str>,
    source_image_resource_id: Option<&'a str>,
    operating_system: Option<&'a str>,
    os_build_number: Option<&'a str>,
    os_version_number: Option<&'a str>,
    os_status: Option<&'a str>,
    #[serde(rename = "sizeInGB")]
    size_in_gb: Option<i64>,
    expiration_date: Option<&'a str>,
    status: Option<&'a str>,
    error_code: Option<&'a str>,
    last_modified_date_time: Option<&'a str>,
}

impl<'a> Image<'a> {
    fn of(row: &'a sqlx::sqlite::SqliteRow) -> Self {
        let text = |i: usize| row.get::<Option<&str>, _>(i);
        Self {
            id: text(0),
            display_name: text(1),
            version: text(2),
            source_image_resource_id: text(3),
            operating_system: text(4),
            os_build_number: text(5),
            os_version_number: text(6),
            os_status: text(7),
            size_in_gb: row.get(8),
            expiration_date: text(9),
            status: text(10),
            error_code: text(11),
            last_modified_date_time: text(12),
        }
    }
}

fn image(row: &sqlx::sqlite::SqliteRow) -> Vec<u8> {
    serde_json::to_vec(&Image::of(row)).unwrap_or_default()
}

fn json(status: actix_web::http::StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

/// A page of the collection: the first `$top` images in creation order (the one option the bench sends).
async fn list(top: i64, reader: web::Data<Mutex<SqliteConnection>>) -> HttpResponse {
    let sql = format!("SELECT {JSON} FROM device_images WHERE tenant_id = ? ORDER BY seq LIMIT ?");
    let mut conn = reader.lock().await;
    let items: Vec<String> = sqlx::query_scalar(&sql)
        .bind(TENANT)
        .bind(top + 1)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    drop(conn);
    json(
        actix_web::http::StatusCode::OK,
        shared::page(&items, top as usize),
    )
}

async fn get(req: HttpRequest, reader: web::Data<Mutex<SqliteConnection>>) -> HttpResponse {
    if let Some(top) = req.query_string().strip_prefix("$top=") {
        return list(top.parse().unwrap_or(100), reader).await;
    }
    let id = req.path().rsplit('/').next().unwrap_or_default();
    let sql = format!("SELECT {JSON} FROM device_images WHERE tenant_id = ? AND id = ?");
    let mut conn = reader.lock().await;
    let rows: Result<Vec<String>, _> = sqlx::query_scalar(&sql)
        .bind(TENANT)
        .bind(id)
        .fetch_all(&mut *conn)
        .await;
    match rows.ok().and_then(|rows| rows.into_iter().next()) {
        Some(body) => json(actix_web::http::StatusCode::OK, body.into_bytes()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// GET or POST by method alone, as the emulator's own router does (no regex routes).
async fn route(
    req: HttpRequest,
    body: web::Bytes,
    reader: web::Data<Mutex<SqliteConnection>>,
    writer: web::Data<mpsc::Sender<Job>>,
) -> HttpResponse {
    if req.method() == actix_web::http::Method::POST {
        match serde_json::from_slice(&body) {
            Ok(body) => create(body, writer).await,
            Err(_) => HttpResponse::BadRequest().finish(),
        }
    } else {
        get(req, reader).await
    }
}

async fn create(body: Create, writer: web::Data<mpsc::Sender<Job>>) -> HttpResponse {
    let (reply, answer) = oneshot::channel();
    if writer.send((body, reply)).await.is_err() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    match answer.await {
        Ok(Some(body)) => json(actix_web::http::StatusCode::CREATED, body),
        _ => HttpResponse::Conflict().finish(),
    }
}

async fn write_loop(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(256);
    while jobs.recv_many(&mut batch, 256).await > 0 {
        let mut tx = conn.begin().await.expect("BEGIN");
        let mut answers = Vec::with_capacity(batch.len());
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        while !batch.is_empty() {
            let chunk: Vec<Job> = batch.drain(..batch.len().min(32)).collect();
            let values = vec!["(?, ?, ?, ?, ?, ?, 'pending', '[]', ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT OR IGNORE INTO device_images (id, tenant_id, display_name, display_name_key, version, \
                 source_image_resource_id, status, scope_ids, last_modified_date_time, created_date_time) \
                 VALUES {values} RETURNING {COLUMNS}"
            );
            let ids: Vec<String> = chunk
                .iter()
                .map(|_| uuid::Uuid::now_v7().to_string())
                .collect();
            let mut query = sqlx::query(&sql);
            for ((new, _), id) in chunk.iter().zip(&ids) {
                query = query
                    .bind(id)
                    .bind(TENANT)
                    .bind(&new.display_name)
                    .bind(new.display_name.to_lowercase())
                    .bind(&new.version)
                    .bind(&new.source_image_resource_id)
                    .bind(&now)
                    .bind(&now);
            }
            let rows = query.fetch_all(&mut *tx).await.unwrap_or_default();
            for ((_, reply), id) in chunk.into_iter().zip(&ids) {
                let row = rows.iter().find(|row| row.get::<String, _>(0) == *id);
                answers.push((reply, row.map(image)));
            }
        }
        tx.commit().await.expect("COMMIT");
        for (reply, row) in answers {
            let _ = reply.send(row);
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: floor DATABASE [ADDR]");
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let writer = SqliteConnection::connect_with(&options)
        .await
        .map_err(std::io::Error::other)?;
    let (sender, receiver) = mpsc::channel::<Job>(1024);
    tokio::spawn(write_loop(writer, receiver));
    let listener = std::net::TcpListener::bind(addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    HttpServer::new(move || {
        // One read-only connection per worker, opened when the worker starts; like the emulator's readers it
        // buffers 1,024 rows, so a whole page crosses from the connection's thread at once.
        let options = options.clone().read_only(true).row_buffer_size(1024);
        let conn = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime")
                .block_on(SqliteConnection::connect_with(&options))
        })
        .join()
        .expect("the connect thread")
        .expect("a read-only connection");
        App::new()
            .app_data(web::Data::new(Mutex::new(conn)))
            .app_data(web::Data::new(sender.clone()))
            .default_service(web::to(route))
    })
    .listen(listener)?
    .run()
    .await
}
