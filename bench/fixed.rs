//! Bench-only baseline (issue 8): the same actix-web server setup as the emulator, answering every request with a
//! fixed body and touching no database, so `bench/baseline.sh` can show the ceiling of the HTTP layer and the load
//! generator on this machine. Not part of the emulator. Usage: `cargo run --release --example fixed -- 127.0.0.1:0`.

use actix_web::{web, App, HttpResponse, HttpServer};

const IMAGE: &str = r#"{"@odata.context":"http://127.0.0.1/v1.0/$metadata#deviceManagement/virtualEndpoint/deviceImages/$entity","id":"00000000-0000-4000-8000-000000000001","displayName":"Fill 1","errorCode":null,"expirationDate":"2027-10-12","lastModifiedDateTime":"2026-11-29T12:00:00.000Z","operatingSystem":"Windows 11 Enterprise","osBuildNumber":"24H2","osStatus":"supported","osVersionNumber":"10.0.26100.2314","sizeInGB":64,"sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2","status":"ready","version":"1.0.0"}"#;

async fn answer(req: actix_web::HttpRequest, _body: web::Bytes) -> HttpResponse {
    let mut res = if req.method() == actix_web::http::Method::POST {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    res.content_type("application/json").body(IMAGE)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = std::net::TcpListener::bind(addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    HttpServer::new(|| App::new().default_service(web::to(answer)))
        .listen(listener)?
        .run()
        .await
}
