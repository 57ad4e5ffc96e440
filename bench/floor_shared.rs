//! What the two read floors (`bench/floor.rs` through sqlx, `bench/floor_rusqlite.rs` through rusqlite) share, so
//! that they measure the same SQL and answer the same bytes: included by each with `#[path]`.

/// The tenant the bench's images belong to.
pub const TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// An image's JSON as SQLite builds it.
pub const JSON: &str = "json_object('id', id, 'displayName', display_name, 'version', version, \
    'sourceImageResourceId', source_image_resource_id, 'operatingSystem', operating_system, \
    'osBuildNumber', os_build_number, 'osVersionNumber', os_version_number, 'osStatus', os_status, \
    'sizeInGB', size_in_gb, 'expirationDate', expiration_date, 'status', status, 'errorCode', error_code, \
    'lastModifiedDateTime', last_modified_date_time)";

/// A page of the collection from its items' JSON text: the first `top` of them (a look-ahead row is dropped).
pub fn page(items: &[String], top: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 16);
    body.extend_from_slice(b"{\"value\":[");
    for (n, item) in items.iter().take(top).enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}
