//! Bench-only (issue 17): the read floor without sqlx. The same actix-web setup and the same `SELECT` of an image's
//! JSON built inside SQLite as `bench/floor.rs`, but run through rusqlite on the actix worker's own thread (one
//! read-only connection per worker, its statement cached), where sqlx runs every statement on a thread of the
//! connection's own and hands the row back across threads. It answers GET by id and `?$top=N` pages; anything else
//! gets 405. `bench/drivers.sh` measures it beside json-server and `bench/floor.rs`, to show what the choice of
//! driver costs a read. Not part of the emulator, and not a design the emulator uses: the project keeps sqlx for every
//! statement. Usage: `cargo run --release --example floor-rusqlite -- DATABASE [ADDR]` on a migrated, filled
//! database.

use std::cell::RefCell;
use std::sync::OnceLock;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rusqlite::{Connection, OpenFlags};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "floor_shared.rs"]
mod shared;
use shared::{JSON, TENANT};

static DATABASE: OnceLock<String> = OnceLock::new();

thread_local! {
    /// The worker's read-only connection, opened on its first request.
    static READER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// Runs `f` on this worker's connection.
fn with_reader<T>(f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    READER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let conn = match cell.as_mut() {
            Some(conn) => conn,
            None => {
                let path = DATABASE.get().map(String::as_str).unwrap_or_default();
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                cell.insert(Connection::open_with_flags(path, flags)?)
            }
        };
        f(conn)
    })
}

fn json(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The first `top` images in creation order, joined into a page.
fn list(top: i64) -> HttpResponse {
    let sql = format!("SELECT {JSON} FROM device_images WHERE tenant_id = ? ORDER BY seq LIMIT ?");
    let items = with_reader(|conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map((TENANT, top + 1), |row| row.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
    });
    match items {
        Ok(items) => json(shared::page(&items, top as usize)),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn get(req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET {
        return HttpResponse::MethodNotAllowed().finish();
    }
    if let Some(top) = req.query_string().strip_prefix("$top=") {
        return list(top.parse().unwrap_or(100));
    }
    let id = req.path().rsplit('/').next().unwrap_or_default();
    let sql = format!("SELECT {JSON} FROM device_images WHERE tenant_id = ? AND id = ?");
    let found = with_reader(|conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query_map((TENANT, id), |row| row.get::<_, String>(0))?;
        rows.next().transpose()
    });
    match found {
        Ok(Some(body)) => json(body.into_bytes()),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: floor-rusqlite DATABASE [ADDR]");
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let _ = DATABASE.set(path);
    let listener = std::net::TcpListener::bind(addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    HttpServer::new(|| App::new().default_service(web::to(get)))
        .listen(listener)?
        .run()
        .await
}
