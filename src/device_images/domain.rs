//! Domain values of a device image. "Parse, don't validate": a [`NewDeviceImage`] exists only if every rule of
//! rule of docs/api.md and docs/fidelity.md holds, so the repository never sees an unchecked value.

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{
    GraphEnum, ImageErrorCode, ImageOsStatus, ImageStatus, ImageStatusDetails,
};
use crate::graph::values::{check_date_time, checked, date, int32, string, text};
use crate::graph::ApiVersion;

/// The entity type's name, as Graph's messages spell it.
pub const ENTITY_TYPE: &str = "microsoft.graph.cloudPcDeviceImage";
/// Most scope ids one image may carry.
const MAX_SCOPE_IDS: usize = 100;

/// `displayName`: 1-256 characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let len = s.chars().count();
        if len == 0 || len > 256 {
            return Err(format!("must be 1 to 256 characters long, not {len}"));
        }
        if s.trim().is_empty() {
            return Err("must not be only whitespace".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that uniqueness is decided on.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// `version`: `Major.Minor.Patch` of non-negative integers, at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVersion(String);

impl ImageVersion {
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if s.len() > 32 {
            return Err(format!(
                "must be at most 32 characters long, not {}",
                s.len()
            ));
        }
        if parts.len() != 3 || !parts.iter().all(numeric) {
            return Err(
                "must be Major.Minor.Patch with non-negative integers, e.g. '0.0.1'".into(),
            );
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `sourceImageResourceId`: a managed image
/// (`/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`) or a gallery image version
/// (`…/providers/Microsoft.Compute/galleries/{g}/images/{i}/versions/{v}`). Fixed words match case-insensitively;
/// the value is kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceImageResourceId(String);

impl SourceImageResourceId {
    pub fn parse(s: &str) -> Result<Self, String> {
        const RULE: &str = "must be '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/\
            Microsoft.Compute/images/{image}' or '…/providers/Microsoft.Compute/galleries/{gallery}/images/{image}/\
            versions/{version}'";
        let segments: Vec<&str> = s.split('/').collect();
        let fixed = |i: usize, word: &str| {
            segments
                .get(i)
                .is_some_and(|s| s.eq_ignore_ascii_case(word))
        };
        let name = |i: usize| segments.get(i).is_some_and(|s| is_resource_name(s));
        let prefix = segments.first() == Some(&"")
            && fixed(1, "subscriptions")
            && segments
                .get(2)
                .is_some_and(|s| s.len() == 36 && Uuid::try_parse(s).is_ok())
            && fixed(3, "resourceGroups")
            && name(4)
            && fixed(5, "providers")
            && fixed(6, "Microsoft.Compute");
        let managed = segments.len() == 9 && fixed(7, "images") && name(8);
        let gallery = segments.len() == 13
            && fixed(7, "galleries")
            && name(8)
            && fixed(9, "images")
            && name(10)
            && fixed(11, "versions")
            && name(12);
        if prefix && (managed || gallery) {
            Ok(Self(s.to_owned()))
        } else {
            Err(RULE.into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Azure resource names: 1-90 of letters, digits, `.`, `_`, `-`, `(`, `)`.
fn is_resource_name(s: &str) -> bool {
    (1..=90).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'(' | b')'))
}

/// A device image a client asked to create, every value checked.
#[derive(Debug, Clone)]
pub struct NewDeviceImage {
    /// The id the client chose (fixtures); a new v4 GUID otherwise.
    pub id: Option<Uuid>,
    pub display_name: DisplayName,
    pub version: ImageVersion,
    pub source_image_resource_id: SourceImageResourceId,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<ImageOsStatus>,
    pub size_in_gb: Option<i32>,
    pub expiration_date: Option<NaiveDate>,
    pub status: ImageStatus,
    pub error_code: Option<ImageErrorCode>,
    pub scope_ids: Vec<String>,
}

/// The body of a create, with what its rules depend on.
pub struct CreateDeviceImageRequest {
    pub body: JsonObject,
    pub version: ApiVersion,
    /// `Prefer: include-unknown-enum-members`: evolvable members may be sent.
    pub include_unknown: bool,
}

impl TryFrom<CreateDeviceImageRequest> for NewDeviceImage {
    type Error = ApiError;

    fn try_from(req: CreateDeviceImageRequest) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let (version, include_unknown) = (req.version, req.include_unknown);
        fn member<E: GraphEnum>(
            name: &str,
            value: &Value,
            version: ApiVersion,
            include_unknown: bool,
        ) -> Result<E, ApiError> {
            E::parse(string(name, value)?, version, include_unknown)
                .map_err(|e| ApiError::invalid(name, e))
        }
        for (name, value) in &req.body.0 {
            if value.is_null() && !REQUIRED.contains(&name.as_str()) {
                continue;
            }
            match name.as_str() {
                "@odata.type" => check_odata_type(value)?,
                "id" => f.id = Some(parse_id(value)?),
                "displayName" => f.display_name = Some(checked(name, value, DisplayName::parse)?),
                "version" => f.version = Some(checked(name, value, ImageVersion::parse)?),
                "sourceImageResourceId" => {
                    f.source = Some(checked(name, value, SourceImageResourceId::parse)?)
                }
                "operatingSystem" => f.operating_system = Some(text(name, value)?),
                "osBuildNumber" => f.os_build_number = Some(text(name, value)?),
                "osVersionNumber" => f.os_version_number = Some(text(name, value)?),
                "osStatus" => f.os_status = Some(member(name, value, version, include_unknown)?),
                "sizeInGB" => f.size_in_gb = Some(int32(name, value)?),
                "expirationDate" => f.expiration_date = Some(date(name, value)?),
                "status" => f.status = Some(member(name, value, version, include_unknown)?),
                "errorCode" => f.error_code = Some(member(name, value, version, include_unknown)?),
                "statusDetails" if req.version == ApiVersion::Beta => {
                    f.status_details = Some(member(name, value, version, include_unknown)?)
                }
                "scopeIds" if req.version == ApiVersion::Beta => f.scope_ids = scope_ids(value)?,
                "lastModifiedDateTime" => check_date_time(name, value)?,
                // Instance and property annotations (`@odata.etag`, `displayName@odata.type`) are not properties.
                other if other.contains('@') => {}
                other => return Err(unknown_property(other)),
            }
        }
        f.finish()
    }
}

/// Required on create (docs/fidelity.md#methods-and-permissions).
const REQUIRED: [&str; 3] = ["displayName", "version", "sourceImageResourceId"];

/// What the body held, before the cross-property rules.
#[derive(Default)]
struct Fields {
    id: Option<Uuid>,
    display_name: Option<DisplayName>,
    version: Option<ImageVersion>,
    source: Option<SourceImageResourceId>,
    operating_system: Option<String>,
    os_build_number: Option<String>,
    os_version_number: Option<String>,
    os_status: Option<ImageOsStatus>,
    size_in_gb: Option<i32>,
    expiration_date: Option<NaiveDate>,
    status: Option<ImageStatus>,
    error_code: Option<ImageErrorCode>,
    status_details: Option<ImageStatusDetails>,
    scope_ids: Vec<String>,
}

impl Fields {
    fn finish(self) -> Result<NewDeviceImage, ApiError> {
        let required =
            |name: &str| ApiError::invalid(name, "the property is required and must not be null");
        // statusDetails is the deprecated twin of errorCode: it may stand in for it, but not contradict it.
        let details = self.status_details.map(ImageStatusDetails::error_code);
        let error_code = match (self.error_code, details) {
            (Some(code), Some(details)) if code != details => {
                return Err(ApiError::invalid(
                    "statusDetails",
                    format!(
                        "'{}' contradicts errorCode '{}'",
                        details.wire(),
                        code.wire()
                    ),
                ))
            }
            (code, details) => code.or(details),
        };
        let status = self.status.unwrap_or(ImageStatus::Pending);
        if error_code.is_some() && !matches!(status, ImageStatus::Failed | ImageStatus::Warning) {
            return Err(ApiError::invalid(
                "errorCode",
                format!(
                    "an image with status '{}' has no error code; set status to 'failed'",
                    status.wire()
                ),
            ));
        }
        Ok(NewDeviceImage {
            id: self.id,
            display_name: self.display_name.ok_or_else(|| required("displayName"))?,
            version: self.version.ok_or_else(|| required("version"))?,
            source_image_resource_id: self
                .source
                .ok_or_else(|| required("sourceImageResourceId"))?,
            operating_system: self.operating_system,
            os_build_number: self.os_build_number,
            os_version_number: self.os_version_number,
            os_status: self.os_status,
            size_in_gb: self.size_in_gb,
            expiration_date: self.expiration_date,
            status,
            error_code,
            scope_ids: self.scope_ids,
        })
    }
}

/// Graph's message for a property the type does not have (docs/fidelity.md#error-envelope).
pub fn unknown_property(name: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "The property '{name}' does not exist on type '{ENTITY_TYPE}'. Make sure to only use property names that \
         are defined by the type or mark the type as open type."
    ))
}

fn parse_id(value: &Value) -> Result<Uuid, ApiError> {
    let s = string("id", value)?;
    match Uuid::try_parse(s) {
        Ok(id) if s.len() == 36 => Ok(id),
        _ => Err(ApiError::invalid(
            "id",
            "must be a GUID such as '4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b'",
        )),
    }
}

fn scope_ids(value: &Value) -> Result<Vec<String>, ApiError> {
    let rule = format!("must be an array of at most {MAX_SCOPE_IDS} strings");
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::invalid("scopeIds", &rule))?;
    if items.len() > MAX_SCOPE_IDS {
        return Err(ApiError::invalid("scopeIds", &rule));
    }
    items.iter().map(|item| text("scopeIds", item)).collect()
}

fn check_odata_type(value: &Value) -> Result<(), ApiError> {
    let s = string("@odata.type", value)?;
    if s.strip_prefix('#').unwrap_or(s) == ENTITY_TYPE {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "@odata.type",
            format!("'{s}' is not '#{ENTITY_TYPE}'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        for ok in ["a", "Image for dev", &"é".repeat(256), " x "] {
            assert!(DisplayName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "   ", "\t\n", &"a".repeat(257)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(DisplayName::parse("ÉCOLE").unwrap().key(), "école");
    }

    #[test]
    fn versions() {
        for ok in [
            "0.0.1",
            "1.5.13",
            "10.20.30",
            &format!("1.1.{}", "9".repeat(28)),
        ] {
            assert!(ImageVersion::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1",
            "1.2",
            "1.2.3.4",
            "a.b.c",
            "1.-2.3",
            "1..3",
            " 1.2.3",
            "1.2.3 ",
            "+1.2.3",
            &format!("1.1.{}", "9".repeat(29)),
            "１.2.3",
        ] {
            assert!(ImageVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn source_image_resource_ids() {
        let sub = "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0";
        for ok in [
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/images/ImageForDev"),
            format!("{sub}/resourcegroups/my-rg_1/providers/microsoft.compute/IMAGES/img.v2"),
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1/images/win11/versions/1.0.0"),
        ] {
            assert!(SourceImageResourceId::parse(&ok).is_ok(), "{ok}");
        }
        for bad in [
            String::new(),
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/im".into(),
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/images/"),
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Storage/images/im"),
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/images/im/extra"),
            format!("{sub}/resourceGroups/r g/providers/Microsoft.Compute/images/im"),
            format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"),
            format!(
                "subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/images/im",
                &sub[15..]
            ),
        ] {
            assert!(SourceImageResourceId::parse(&bad).is_err(), "{bad}");
        }
    }
}
