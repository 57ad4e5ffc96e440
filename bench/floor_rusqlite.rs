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

const TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// An image's JSON as SQLite builds it (the same expression as `bench/floor.rs`).
const JSON: &str = "json_object('id', id, 'displayName', display_name, 'version', version, \
    'sourceImageResourceId', source_image_resource_id, 'operatingSystem', operating_system, \
    'osBuildNumber', os_build_number, 'osVersionNumber', os_version_number, 'osStatus', os_status, \
    'sizeInGB', size_in_gb, 'expirationDate', expiration_date, 'status', status, 'errorCode', error_code, \
    'lastModifiedDateTime', last_modified_date_time)";

static DATABASE: OnceLock<String> = OnceLock::new();

thread_local! {
    /// The worker's read-only connection, opened on its first request.
    static READER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// Runs `f` on this worker's connection.
fn with_reader<T>(f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    READER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            let path = DATABASE.get().map(String::as_str).unwrap_or_default();
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            *cell = Some(Connection::open_with_flags(path, flags)?);
        }
        match cell.as_ref() {
            Some(conn) => f(conn),
            None => Err(rusqlite::Error::InvalidQuery),
        }
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
    let Ok(items) = items else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut body = b"{\"value\":[".to_vec();
    for (n, item) in items.iter().take(top as usize).enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.extend_from_slice(b"]}");
    json(body)
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
