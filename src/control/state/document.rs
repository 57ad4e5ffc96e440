//! The state document (docs/state.md): what `GET /_emulator/state` exports, and what `POST /_emulator/import` and
//! `--seed` take in. Every entry is checked by the rules its own route uses (an image by a Graph create's, a catalog
//! entry by `PUT /_emulator/source-images`', a fault rule by `POST /_emulator/faults`'), and every error names the
//! entry and the property (`images[3].version: must be Major.Minor.Patch …`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::clock::{format_timestamp, MAX_OFFSET_MS};
use crate::control::faults::{parse_rule, FaultRule};
use crate::device_images::domain::{CreateDeviceImageRequest, NewDeviceImage};
use crate::device_images::DEFAULT_TENANT;
use crate::error::ApiError;
use crate::gallery_images::model::GalleryImage;
use crate::graph::body::JsonObject;
use crate::graph::enums::ImageStatus;
use crate::graph::ApiVersion;
use crate::identity::tenant_key;
use crate::source_images::model::{parse_entry, SourceImage};

use super::policies::{gallery_image, policy, ImportedPolicy};

/// Whose images a document touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every tenant, and the emulator-wide parts (catalog, fault rules, clock).
    All,
    /// One tenant's images, nothing else.
    Tenant(String),
}

impl Scope {
    /// The tenant an entry goes to: the one it names (which a tenant's import must match), else the import's.
    pub fn tenant_for(&self, at: &str, given: Option<String>) -> Result<String, ApiError> {
        match (self, given) {
            (Scope::Tenant(t), Some(given)) if &given != t => Err(ApiError::BadRequest(format!(
                "{at}.tenantId: this import is for tenant '{t}', not '{given}' (leave tenantId out to import into \
                 the tenant of the request)"
            ))),
            (Scope::Tenant(t), _) => Ok(t.clone()),
            (Scope::All, given) => Ok(given.unwrap_or_else(|| DEFAULT_TENANT.to_owned())),
        }
    }
}

/// An entry's `tenantId`, as `identity::tenant_key` reads one.
pub(super) fn tenant_of(at: &str, value: &Value) -> Result<String, ApiError> {
    value.as_str().and_then(tenant_key).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{at}.tenantId: must be a GUID or a name of 1 to 64 letters, digits, '-', '_' and '.'"
        ))
    })
}

/// A checked state document. A part that was absent is `None`: it is left as it is.
#[derive(Debug, Default)]
pub struct StateDocument {
    pub images: Vec<ImportedImage>,
    pub policies: Vec<ImportedPolicy>,
    pub source_images: Option<Vec<SourceImage>>,
    pub gallery_images: Option<Vec<GalleryImage>>,
    pub faults: Option<Vec<FaultRule>>,
    /// Milliseconds.
    pub clock_offset_ms: Option<i64>,
}

/// One image of a document, ready to insert.
#[derive(Debug)]
pub struct ImportedImage {
    pub tenant_id: String,
    /// Its id is always set: given, or a new one.
    pub new: NewDeviceImage,
    /// RFC 3339 UTC with milliseconds and `Z`.
    pub last_modified: String,
    pub upload_due_at: Option<String>,
}

/// What the checks need besides the document itself.
pub struct ImageDefaults {
    /// The wall clock's now.
    pub wall: DateTime<Utc>,
    /// The emulator's clock offset (milliseconds) before the import; the document's `clock` replaces it.
    pub offset_ms: i64,
    /// A pending image without `uploadDueAt` completes this long after the emulator's now.
    pub upload_seconds: u64,
}

impl StateDocument {
    /// Checks a whole document; the first problem is the error.
    pub fn parse(body: JsonObject, scope: &Scope, d: &ImageDefaults) -> Result<Self, ApiError> {
        let mut doc = Self::default();
        // The clock first: images without times get the emulator's now as the document sets it.
        let clock_part = body.0.iter().find(|(k, v)| k == "clock" && !v.is_null());
        if let (Some((_, value)), Scope::All) = (clock_part, scope) {
            doc.clock_offset_ms = Some(clock(value, d.wall)?);
        }
        let now =
            d.wall + chrono::Duration::milliseconds(doc.clock_offset_ms.unwrap_or(d.offset_ms));
        for (part, value) in body.0 {
            if value.is_null() {
                continue;
            }
            let known = [
                "images",
                "provisioningPolicies",
                "sourceImages",
                "galleryImages",
                "faults",
                "clock",
            ]
            .contains(&part.as_str());
            if known && scope != &Scope::All && part != "images" && part != "provisioningPolicies" {
                return Err(ApiError::BadRequest(format!(
                    "{part}: a tenant's import holds images and provisioning policies only; the source catalog, the \
                     gallery, fault rules and clock are emulator-wide (import them without ?tenant=)."
                )));
            }
            match part.as_str() {
                "images" => {
                    doc.images = each(&part, &value, |at, v| image(at, v, scope, now, d))?;
                }
                "provisioningPolicies" => {
                    doc.policies = each(&part, &value, |at, v| policy(at, v, scope, now))?;
                }
                "sourceImages" => doc.source_images = Some(each(&part, &value, source_image)?),
                "galleryImages" => doc.gallery_images = Some(each(&part, &value, gallery_image)?),
                "faults" => doc.faults = Some(each(&part, &value, fault)?),
                "clock" => {}
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "{other}: a state document has images, provisioningPolicies, sourceImages, galleryImages, \
                         faults and clock."
                    )))
                }
            }
        }
        Ok(doc)
    }
}

/// Checks every entry of an array part, naming each by its index.
fn each<T>(
    part: &str,
    value: &Value,
    parse: impl Fn(&str, &Value) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::BadRequest(format!("{part}: must be an array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse(&format!("{part}[{i}]"), item))
        .collect()
}

/// An entry's error, named: `Invalid value for property 'p': rule` becomes `at.p: rule`, anything else `at: …`.
/// The status stays the check's own.
pub fn named(at: &str, e: ApiError) -> ApiError {
    let rename = |m: String| match m
        .strip_prefix("Invalid value for property '")
        .and_then(|rest| rest.split_once("': "))
    {
        Some((property, rule)) => format!("{at}.{property}: {rule}"),
        None => format!("{at}: {m}"),
    };
    match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(rename(m)),
        ApiError::Conflict(m) => ApiError::Conflict(rename(m)),
        other => other,
    }
}

/// The fields of an entry, which must be an object.
pub(super) fn object(at: &str, value: &Value) -> Result<Vec<(String, Value)>, ApiError> {
    match value {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        _ => Err(ApiError::BadRequest(format!("{at}: must be an object"))),
    }
}

/// A time of an entry, as the emulator stores times.
pub(super) fn timestamp(at: &str, name: &str, value: &Value) -> Result<String, ApiError> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| format_timestamp(t.with_timezone(&Utc)))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{at}.{name}: must be an RFC 3339 date-time such as 2026-11-29T12:00:00Z"
            ))
        })
}

/// An image: the fields a Graph create takes, checked as a beta create with every enum member checks them, plus
/// `tenantId`, `uploadDueAt` and `lastModifiedDateTime`, which only the emulator sets.
fn image(
    at: &str,
    value: &Value,
    scope: &Scope,
    now: DateTime<Utc>,
    d: &ImageDefaults,
) -> Result<ImportedImage, ApiError> {
    let mut body = Vec::new();
    let (mut tenant, mut due, mut modified) = (None, None, None);
    for (name, value) in object(at, value)? {
        match name.as_str() {
            "tenantId" if !value.is_null() => tenant = Some(tenant_of(at, &value)?),
            "uploadDueAt" if !value.is_null() => due = Some(timestamp(at, &name, &value)?),
            "lastModifiedDateTime" if !value.is_null() => {
                modified = Some(timestamp(at, &name, &value)?)
            }
            "tenantId" | "uploadDueAt" | "lastModifiedDateTime" => {}
            _ => body.push((name, value)),
        }
    }
    let tenant_id = scope.tenant_for(at, tenant)?;
    let mut new = NewDeviceImage::try_from(CreateDeviceImageRequest {
        body: JsonObject(body),
        version: ApiVersion::Beta,
        include_unknown: true,
    })
    .map_err(|e| named(at, e))?;
    new.id = Some(new.id.unwrap_or_else(Uuid::now_v7));
    let upload_due_at = due_time(at, new.status, due, now, d.upload_seconds)?;
    Ok(ImportedImage {
        tenant_id,
        new,
        last_modified: modified.unwrap_or_else(|| format_timestamp(now)),
        upload_due_at,
    })
}

/// When a pending image's upload completes: as given, else one upload after now. Only a pending image has one.
fn due_time(
    at: &str,
    status: ImageStatus,
    given: Option<String>,
    now: DateTime<Utc>,
    upload_seconds: u64,
) -> Result<Option<String>, ApiError> {
    match (status, given) {
        (ImageStatus::Pending, Some(due)) => Ok(Some(due)),
        (ImageStatus::Pending, None) => Ok(Some(format_timestamp(
            now + chrono::Duration::seconds(upload_seconds as i64),
        ))),
        (_, None) => Ok(None),
        (status, Some(_)) => Err(ApiError::BadRequest(format!(
            "{at}.uploadDueAt: only a pending image has an upload to complete; this one is '{}'",
            crate::graph::enums::GraphEnum::wire(status)
        ))),
    }
}

/// A catalog entry, checked as `PUT /_emulator/source-images` checks one.
fn source_image(at: &str, value: &Value) -> Result<SourceImage, ApiError> {
    parse_entry(JsonObject(object(at, value)?), None).map_err(|e| named(at, e))
}

/// A fault rule as `GET /_emulator/faults` shows it (`id`, `created` and `remaining` included) or as `POST` takes
/// it (`count`), checked as `POST` checks one. Null properties are absent ones.
fn fault(at: &str, value: &Value) -> Result<FaultRule, ApiError> {
    let (mut id, mut created) = (0, None);
    let mut body = Vec::new();
    for (name, value) in object(at, value)? {
        match name.as_str() {
            _ if value.is_null() => {}
            "id" => {
                id = value.as_i64().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::BadRequest(format!("{at}.id: must be a positive integer"))
                })?
            }
            "created" => created = Some(timestamp(at, &name, &value)?),
            "remaining" => body.push(("count".to_owned(), value)),
            _ => body.push((name, value)),
        }
    }
    let mut rule = parse_rule(JsonObject(body)).map_err(|e| named(at, e))?;
    rule.id = id;
    rule.created = created.unwrap_or_else(|| format_timestamp(Utc::now()));
    Ok(rule)
}

/// The clock: `offsetSeconds` (what an export holds), or a `now` to move the clock to; an export has both, and its
/// offset is what counts (its `now` was the time of the export).
fn clock(value: &Value, wall: DateTime<Utc>) -> Result<i64, ApiError> {
    let max_seconds = MAX_OFFSET_MS / 1000;
    let fields = object("clock", value)?;
    let find = |key: &str| {
        fields
            .iter()
            .find(|(k, v)| k == key && !v.is_null())
            .map(|(_, v)| v)
    };
    if let Some((other, _)) = fields
        .iter()
        .find(|(k, _)| k != "offsetSeconds" && k != "now")
    {
        return Err(ApiError::BadRequest(format!(
            "clock.{other}: the clock has offsetSeconds and now"
        )));
    }
    if let Some(offset) = find("offsetSeconds") {
        return offset
            .as_f64()
            .filter(|s| s.is_finite() && (0.0..=max_seconds as f64).contains(s))
            .map(|s| (s * 1000.0).round() as i64)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "clock.offsetSeconds: must be a number of seconds from 0 to {max_seconds}"
                ))
            });
    }
    let Some(target) = find("now") else {
        return Err(ApiError::BadRequest(
            "clock: needs offsetSeconds or now".into(),
        ));
    };
    let target = timestamp("clock", "now", target)?;
    let target = DateTime::parse_from_rfc3339(&target)
        .map_err(ApiError::internal)?
        .with_timezone(&Utc);
    let offset = (target - wall).num_milliseconds();
    if !(0..=MAX_OFFSET_MS).contains(&offset) {
        return Err(ApiError::BadRequest(format!(
            "clock.now: must be between the wall clock's now and {max_seconds} seconds after it"
        )));
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::body::parse_object;

    fn defaults() -> ImageDefaults {
        ImageDefaults {
            wall: "2026-12-01T00:00:00Z".parse().unwrap(),
            offset_ms: 0,
            upload_seconds: 60,
        }
    }

    fn parse(json: &str, scope: &Scope) -> Result<StateDocument, ApiError> {
        StateDocument::parse(parse_object(json.as_bytes()).unwrap(), scope, &defaults())
    }

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) | ApiError::Conflict(m) => m,
            other => panic!("{other:?}"),
        }
    }

    const SOURCE: &str =
        "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/\
                          Microsoft.Compute/images/win11";

    #[test]
    fn errors_name_the_entry_and_the_property() {
        let doc = format!(
            r#"{{"images":[{{"displayName":"a","version":"1.0.0","sourceImageResourceId":"{SOURCE}"}},
            {{"displayName":"b","version":"1.0","sourceImageResourceId":"{SOURCE}"}}]}}"#
        );
        let m = message(parse(&doc, &Scope::All).unwrap_err());
        assert!(
            m.starts_with("images[1].version: must be Major.Minor.Patch"),
            "{m}"
        );
        let m = message(parse(r#"{"faults":[{"action":"error"}]}"#, &Scope::All).unwrap_err());
        assert!(m.starts_with("faults[0].status: "), "{m}");
        let m = message(parse(r#"{"images":[7]}"#, &Scope::All).unwrap_err());
        assert_eq!(m, "images[0]: must be an object");
        let m = message(parse(r#"{"imagez":[]}"#, &Scope::All).unwrap_err());
        assert!(m.starts_with("imagez: "), "{m}");
    }

    #[test]
    fn pending_images_get_a_due_time_and_others_may_not_have_one() {
        let doc = format!(
            r#"{{"images":[{{"displayName":"a","version":"1.0.0","sourceImageResourceId":"{SOURCE}"}},
            {{"displayName":"b","version":"1.0.0","sourceImageResourceId":"{SOURCE}","status":"ready",
              "lastModifiedDateTime":"2026-01-02T03:04:05Z","tenantId":"Contoso"}}]}}"#
        );
        let doc = parse(&doc, &Scope::All).unwrap();
        assert_eq!(
            doc.images[0].upload_due_at.as_deref(),
            Some("2026-12-01T00:01:00.000Z")
        );
        assert_eq!(doc.images[0].tenant_id, DEFAULT_TENANT);
        assert!(doc.images[0].new.id.is_some());
        assert_eq!(doc.images[1].upload_due_at, None);
        assert_eq!(doc.images[1].last_modified, "2026-01-02T03:04:05.000Z");
        assert_eq!(doc.images[1].tenant_id, "contoso");
        let bad = format!(
            r#"{{"images":[{{"displayName":"b","version":"1.0.0","sourceImageResourceId":"{SOURCE}",
              "status":"ready","uploadDueAt":"2026-01-02T03:04:05Z"}}]}}"#
        );
        let m = message(parse(&bad, &Scope::All).unwrap_err());
        assert!(m.starts_with("images[0].uploadDueAt: "), "{m}");
    }

    #[test]
    fn a_tenant_import_holds_only_that_tenants_images() {
        let scope = Scope::Tenant("contoso".into());
        let m = message(parse(r#"{"faults":[]}"#, &scope).unwrap_err());
        assert!(m.starts_with("faults: "), "{m}");
        let doc = format!(
            r#"{{"images":[{{"displayName":"a","version":"1.0.0","sourceImageResourceId":"{SOURCE}","tenantId":"fabrikam"}}]}}"#
        );
        let m = message(parse(&doc, &scope).unwrap_err());
        assert!(m.starts_with("images[0].tenantId: "), "{m}");
        let doc = doc.replace("fabrikam", "CONTOSO");
        assert_eq!(parse(&doc, &scope).unwrap().images[0].tenant_id, "contoso");
    }

    #[test]
    fn the_clock_takes_an_offset_or_a_time() {
        let doc = parse(r#"{"clock":{"now":"2026-12-02T00:00:00Z"}}"#, &Scope::All).unwrap();
        assert_eq!(doc.clock_offset_ms, Some(86_400_000));
        let doc = parse(
            r#"{"clock":{"now":"2000-01-01T00:00:00Z","offsetSeconds":1.5}}"#,
            &Scope::All,
        )
        .unwrap();
        assert_eq!(doc.clock_offset_ms, Some(1500));
        for bad in [
            r#"{"clock":{"now":"2000-01-01T00:00:00Z"}}"#,
            r#"{"clock":{"offsetSeconds":-1}}"#,
            r#"{"clock":{}}"#,
            r#"{"clock":{"speed":2}}"#,
        ] {
            assert!(
                message(parse(bad, &Scope::All).unwrap_err()).starts_with("clock"),
                "{bad}"
            );
        }
    }

    #[test]
    fn exported_fault_rules_read_back() {
        let doc = parse(
            r#"{"faults":[{"id":7,"created":"2026-12-01T00:00:00.000Z","method":null,"path":"*","apiVersion":null,
              "action":"error","status":500,"code":"x","message":"y","retryAfter":null,"probability":1.0,
              "remaining":3}]}"#,
            &Scope::All,
        )
        .unwrap();
        let rule = &doc.faults.unwrap()[0];
        assert_eq!((rule.id, rule.remaining), (7, Some(3)));
        assert_eq!(rule.created, "2026-12-01T00:00:00.000Z");
    }
}
