//! Domain values of a provisioning policy. "Parse, don't validate": a [`PolicyValues`] exists only if every rule of
//! docs/policies.md held for each property, each error naming its property (`domainJoinConfigurations[1].regionGroup`).
//! What depends on other rows (the image exists and may be used) is checked by the repository, in the transaction
//! of the write.

use serde_json::{json, Value};
use uuid::Uuid;

use super::complex::{autopatch, domain_joins, managed_desktop, windows_setting, windows_settings};

use crate::device_images::domain::DisplayName;
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{GraphEnum, PolicyImageType, ProvisioningType, UserExperienceType};
use crate::graph::values::{checked, json_type, string, text};
use crate::graph::ApiVersion;

/// The entity type's name, as Graph's messages spell it.
pub const ENTITY_TYPE: &str = "microsoft.graph.cloudPcProvisioningPolicy";
/// Most domain join configurations and scope ids one policy may carry.
const MAX_ITEMS: usize = 20;
/// How long the service waits before reprovisioning (Graph's read-only `gracePeriodInHours`; 4 in its examples).
pub const GRACE_PERIOD_IN_HOURS: i32 = 4;

/// Every settable value of a policy, checked. Complex values are the normalised JSON Graph returns.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyValues {
    pub display_name: DisplayName,
    pub description: Option<String>,
    pub image_type: PolicyImageType,
    pub image_id: String,
    /// `None`: filled from the image by the repository.
    pub image_display_name: Option<String>,
    pub cloud_pc_naming_template: Option<String>,
    pub enable_single_sign_on: Option<bool>,
    pub local_admin_enabled: Option<bool>,
    pub provisioning_type: ProvisioningType,
    pub domain_join_configurations: Value,
    pub windows_setting: Option<Value>,
    pub microsoft_managed_desktop: Option<Value>,
    pub autopatch: Option<Value>,
    pub scope_ids: Vec<String>,
    pub user_experience_type: Option<UserExperienceType>,
}

/// A policy a client asked to create.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    /// The id the client chose (fixtures); a new GUID otherwise.
    pub id: Option<Uuid>,
    pub values: PolicyValues,
}

/// What a create or update body held, each value checked; `Some(None)` is an explicit null.
#[derive(Default)]
pub struct Changes {
    id: Option<Uuid>,
    display_name: Option<DisplayName>,
    description: Option<Option<String>>,
    image_type: Option<PolicyImageType>,
    image_id: Option<String>,
    image_display_name: Option<Option<String>>,
    cloud_pc_naming_template: Option<Option<String>>,
    enable_single_sign_on: Option<Option<bool>>,
    local_admin_enabled: Option<Option<bool>>,
    provisioning_type: Option<ProvisioningType>,
    domain_join_configurations: Option<Value>,
    windows_setting: Option<Option<Value>>,
    microsoft_managed_desktop: Option<Option<Value>>,
    autopatch: Option<Option<Value>>,
    scope_ids: Option<Vec<String>>,
    user_experience_type: Option<Option<UserExperienceType>>,
}

/// Properties the service sets: accepted (type-checked) and ignored, so a client may send back what it read.
const READ_ONLY: [&str; 6] = [
    "alternateResourceUrl",
    "cloudPcGroupDisplayName",
    "gracePeriodInHours",
    "managedBy",
    "createdDateTime",
    "lastModifiedDateTime",
];
/// Required on create, and never null.
const REQUIRED: [&str; 3] = ["displayName", "imageId", "imageType"];

impl Changes {
    /// Checks every property of a body for a client of `version`.
    pub fn parse(body: &JsonObject, version: ApiVersion, prefer: bool) -> Result<Self, ApiError> {
        let mut c = Self::default();
        for (name, value) in &body.0 {
            if value.is_null() && REQUIRED.contains(&name.as_str()) {
                return Err(ApiError::invalid(
                    name,
                    "the property is required and must not be null",
                ));
            }
            c.set(name, value, version, prefer)?;
        }
        Ok(c)
    }

    /// Checks one property of a body. It is long because it is the table of what a body may hold: one arm per
    /// property, as the description lists them.
    fn set(
        &mut self,
        name: &str,
        value: &Value,
        version: ApiVersion,
        prefer: bool,
    ) -> Result<(), ApiError> {
        let beta = version == ApiVersion::Beta;
        let nullable =
            |f: fn(&str, &Value) -> Result<String, ApiError>| -> Result<Option<String>, ApiError> {
                (!value.is_null()).then(|| f(name, value)).transpose()
            };
        match name {
            "@odata.type" | "id" if value.is_null() => {}
            "@odata.type" => check_odata_type(value, ENTITY_TYPE)?,
            "id" => self.id = Some(checked(name, value, parse_guid)?),
            "displayName" => self.display_name = Some(checked(name, value, DisplayName::parse)?),
            "description" => self.description = Some(nullable(long_text)?),
            "imageType" => self.image_type = Some(member(name, value, version, prefer)?),
            "imageId" => self.image_id = Some(text(name, value)?),
            "imageDisplayName" => self.image_display_name = Some(nullable(text)?),
            "cloudPcNamingTemplate" => {
                self.cloud_pc_naming_template = Some(nullable(naming_template)?)
            }
            "enableSingleSignOn" => self.enable_single_sign_on = Some(boolean(name, value)?),
            "localAdminEnabled" => self.local_admin_enabled = Some(boolean(name, value)?),
            "provisioningType" if value.is_null() => {}
            "provisioningType" => {
                self.provisioning_type = Some(member(name, value, version, prefer)?)
            }
            "domainJoinConfigurations" => {
                self.domain_join_configurations = Some(domain_joins(value, version, prefer)?)
            }
            "windowsSetting" => self.windows_setting = Some(windows_setting(value)?),
            "microsoftManagedDesktop" => {
                self.microsoft_managed_desktop = Some(managed_desktop(value, version, prefer)?)
            }
            "autopatch" => self.autopatch = Some(autopatch(value)?),
            "scopeIds" if beta => self.scope_ids = Some(scope_ids(value)?),
            "userExperienceType" if beta && value.is_null() => {
                self.user_experience_type = Some(None)
            }
            "userExperienceType" if beta => {
                self.user_experience_type = Some(Some(member(name, value, version, prefer)?))
            }
            // Beta's deprecated `cloudPcWindowsSettings` (Graph stopped returning it in 2024): checked, not stored.
            "windowsSettings" if beta => windows_settings(value)?,
            "assignments" => {
                return Err(ApiError::BadRequest(
                    "A policy's assignments are set with POST …/provisioningPolicies/{id}/assign."
                        .into(),
                ))
            }
            ro if READ_ONLY.contains(&ro)
                && (beta || (!ro.ends_with("DateTime") && ro != "managedBy")) => {}
            // Instance and property annotations (`@odata.etag`, `displayName@odata.type`) are not properties.
            other if other.contains('@') => {}
            other => return Err(unknown_property(other)),
        }
        Ok(())
    }

    /// The values of a new policy: the required properties given, the rest defaulted.
    pub fn create(self) -> Result<NewPolicy, ApiError> {
        let required =
            |name: &str| ApiError::invalid(name, "the property is required and must not be null");
        let image_type = self.image_type.ok_or_else(|| required("imageType"))?;
        let image_id = self.image_id.clone().ok_or_else(|| required("imageId"))?;
        let values = PolicyValues {
            display_name: self
                .display_name
                .clone()
                .ok_or_else(|| required("displayName"))?,
            description: None,
            image_type,
            image_id: image_id.clone(),
            image_display_name: None,
            cloud_pc_naming_template: None,
            enable_single_sign_on: None,
            local_admin_enabled: None,
            provisioning_type: ProvisioningType::Dedicated,
            domain_join_configurations: json!([]),
            windows_setting: None,
            microsoft_managed_desktop: None,
            autopatch: None,
            scope_ids: vec!["0".into()],
            user_experience_type: None,
        };
        Ok(NewPolicy {
            id: self.id,
            values: self.apply(values)?,
        })
    }

    /// The values after an update of `current`. `provisioningType` cannot change once the policy exists, and an id in
    /// the body must be the policy's.
    pub fn update(self, current: PolicyValues, id: Uuid) -> Result<PolicyValues, ApiError> {
        if self.id.is_some_and(|given| given != id) {
            return Err(ApiError::invalid("id", "differs from the id in the path"));
        }
        if self
            .provisioning_type
            .is_some_and(|t| t != current.provisioning_type)
        {
            return Err(ApiError::invalid(
                "provisioningType",
                "cannot be changed after the policy is created",
            ));
        }
        // A new image's name is filled from the image unless the body gave one.
        let renamed = self.names_image() && !self.names_image_display_name();
        let mut values = self.apply(current)?;
        if renamed {
            values.image_display_name = None;
        }
        Ok(values)
    }

    /// Applies the body to `v` and checks the image reference's form.
    fn apply(self, mut v: PolicyValues) -> Result<PolicyValues, ApiError> {
        let given_name = self.image_display_name.clone();
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(x) = self.$field { v.$field = x; })* };
        }
        take!(
            display_name,
            description,
            image_type,
            image_id,
            cloud_pc_naming_template
        );
        take!(
            enable_single_sign_on,
            local_admin_enabled,
            provisioning_type,
            domain_join_configurations
        );
        take!(
            windows_setting,
            microsoft_managed_desktop,
            autopatch,
            scope_ids,
            user_experience_type
        );
        if let Some(name) = given_name {
            v.image_display_name = name;
        }
        check_image_id(v.image_type, &v.image_id)?;
        if v.image_type == PolicyImageType::Custom {
            v.image_id = v.image_id.to_ascii_lowercase();
        }
        Ok(v)
    }

    /// Whether the body named an image (the update then re-checks the reference).
    pub fn names_image(&self) -> bool {
        self.image_id.is_some() || self.image_type.is_some()
    }

    /// Whether the body gave `imageDisplayName`.
    fn names_image_display_name(&self) -> bool {
        self.image_display_name.is_some()
    }
}

/// A custom image is a device image's GUID; a gallery image `{publisher}_{offer}_{sku}`.
fn check_image_id(image_type: PolicyImageType, id: &str) -> Result<(), ApiError> {
    match image_type {
        PolicyImageType::Custom if parse_guid(id).is_err() => Err(ApiError::invalid(
            "imageId",
            "a custom image is named by its device image id, a GUID",
        )),
        PolicyImageType::Gallery if id.split('_').count() != 3 || id.split('_').any(str::is_empty) => {
            Err(ApiError::invalid(
                "imageId",
                "a gallery image is named '{publisherName}_{offerName}_{skuName}', as galleryImages lists it",
            ))
        }
        _ => Ok(()),
    }
}

/// Graph's message for a property the type does not have (docs/fidelity.md#error-envelope).
pub fn unknown_property(name: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "The property '{name}' does not exist on type '{ENTITY_TYPE}'. Make sure to only use property names that \
         are defined by the type or mark the type as open type."
    ))
}

pub fn parse_guid(s: &str) -> Result<Uuid, String> {
    match Uuid::try_parse(s) {
        Ok(id) if s.len() == 36 => Ok(id),
        _ => Err("must be a GUID such as '4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b'".into()),
    }
}

pub(super) fn member<E: GraphEnum>(
    name: &str,
    value: &Value,
    version: ApiVersion,
    prefer: bool,
) -> Result<E, ApiError> {
    E::parse(string(name, value)?, version, prefer).map_err(|e| ApiError::invalid(name, e))
}

fn boolean(name: &str, value: &Value) -> Result<Option<bool>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(ApiError::invalid(
            name,
            format!("a boolean is required, not {}", json_type(other)),
        )),
    }
}

/// A description: at most 1,024 characters.
fn long_text(name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?;
    if s.chars().count() > 1024 {
        return Err(ApiError::invalid(
            name,
            "must be at most 1024 characters long",
        ));
    }
    Ok(s.to_owned())
}

/// `cloudPcNamingTemplate`: Windows 365's rule, at most 15 characters of name with `%USERNAME:x%` and `%RAND:y%`
/// counting as x and y characters, and a `%RAND:y%` of at least 5 so that names are unique.
fn naming_template(name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?;
    let rule = "must give Cloud PC names of at most 15 characters, %USERNAME:x% and %RAND:y% counting x and y, \
        with a %RAND:y% of y >= 5, e.g. 'CPC-%USERNAME:4%-%RAND:5%'";
    let (mut length, mut rand, mut rest) = (0usize, false, s);
    while let Some(start) = rest.find('%') {
        length += rest[..start].chars().count();
        let after = &rest[start + 1..];
        let end = after
            .find('%')
            .ok_or_else(|| ApiError::invalid(name, rule))?;
        let token = &after[..end];
        let (kind, width) = token
            .split_once(':')
            .ok_or_else(|| ApiError::invalid(name, rule))?;
        let width: usize = width.parse().map_err(|_| ApiError::invalid(name, rule))?;
        match kind {
            "USERNAME" => length = length.saturating_add(width),
            "RAND" if width >= 5 => (length, rand) = (length.saturating_add(width), true),
            _ => return Err(ApiError::invalid(name, rule)),
        }
        rest = &after[end + 1..];
    }
    length += rest.chars().count();
    if !rand || length > 15 {
        return Err(ApiError::invalid(name, rule));
    }
    Ok(s.to_owned())
}

fn scope_ids(value: &Value) -> Result<Vec<String>, ApiError> {
    let rule = format!("must be an array of at most {MAX_ITEMS} strings");
    let items = value.as_array().filter(|a| a.len() <= MAX_ITEMS);
    let items = items.ok_or_else(|| ApiError::invalid("scopeIds", &rule))?;
    items.iter().map(|item| text("scopeIds", item)).collect()
}

pub(super) fn check_odata_type(value: &Value, expected: &str) -> Result<(), ApiError> {
    let s = string("@odata.type", value)?;
    if s.strip_prefix('#')
        .unwrap_or(s)
        .eq_ignore_ascii_case(expected)
    {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "@odata.type",
            format!("'{s}' is not '#{expected}'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_templates() {
        let check = |s: &str| naming_template("cloudPcNamingTemplate", &Value::from(s));
        for ok in [
            "CPC-%USERNAME:4%-%RAND:5%",
            "%RAND:15%",
            "HR-%RAND:5%",
            "ab%RAND:5%cd",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "CPC-%USERNAME:4%",
            "%RAND:4%",
            "%RAND:16%",
            "CONTOSO-%RAND:10%",
            "%RAND:5",
            "%RAND%",
            "%RAND:x%",
            "%OTHER:5%%RAND:5%",
            "%USERNAME:18446744073709551615%%RAND:18446744073709551615%",
            "%RAND:99999999999999999999999%",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
