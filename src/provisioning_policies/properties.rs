//! The one description of `cloudPcProvisioningPolicy`: every property with its JSON name, column, Graph type, the
//! versions that have it and how `$filter`/`$orderby` see it. The projection (built inside SQLite by
//! [`crate::graph::resource::json_object_sql`]), `$select`, the query schema ([`super::query`]) and the metadata
//! documents are derived from it. Complex values are stored as the JSON Graph returns them (checked by
//! [`super::domain`]); booleans as 0 and 1.

use crate::graph::enums::{
    MANAGEMENT_SERVICE, POLICY_IMAGE_TYPE, PROVISIONING_TYPE, USER_EXPERIENCE_TYPE,
};
use crate::graph::odata::schema::{enum_kind, Kind};
use crate::graph::resource::{Described, Edm, PropertyDef, Versions};

/// A property of `cloudPcProvisioningPolicy`, in [`PROPERTIES`]' order (the order of the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyProperty {
    Id,
    AlternateResourceUrl,
    Autopatch,
    CloudPcGroupDisplayName,
    CloudPcNamingTemplate,
    CreatedDateTime,
    Description,
    DisplayName,
    DomainJoinConfigurations,
    EnableSingleSignOn,
    GracePeriodInHours,
    ImageDisplayName,
    ImageId,
    ImageType,
    LastModifiedDateTime,
    LocalAdminEnabled,
    ManagedBy,
    MicrosoftManagedDesktop,
    ProvisioningType,
    ScopeIds,
    UserExperienceType,
    WindowsSetting,
}

/// A row of [`PROPERTIES`].
pub type Def = PropertyDef<PolicyProperty>;

use PolicyProperty as P;
use Versions::{All, BetaOnly};

const fn text(property: P, name: &'static str, column: &'static str, always_set: bool) -> Def {
    Def::column(
        property,
        name,
        column,
        Edm::String,
        always_set,
        All,
        Kind::Text,
    )
}

const fn complex(property: P, name: &'static str, column: &'static str, ty: &'static str) -> Def {
    Def::column(
        property,
        name,
        column,
        Edm::Complex(ty),
        false,
        All,
        Kind::Collection,
    )
}

const fn flag(property: P, name: &'static str, column: &'static str) -> Def {
    Def::column(property, name, column, Edm::Boolean, false, All, Kind::Bool)
}

const fn time(property: P, name: &'static str, column: &'static str) -> Def {
    Def::column(
        property,
        name,
        column,
        Edm::DateTimeOffset,
        true,
        BetaOnly,
        Kind::DateTime,
    )
}

/// Every property of `cloudPcProvisioningPolicy` (v1.0's sixteen and beta's additions; `assignments` is a
/// navigation property, expanded on request).
pub static PROPERTIES: [Def; 22] = [
    Def::column(P::Id, "id", "id", Edm::String, true, All, Kind::Guid),
    text(
        P::AlternateResourceUrl,
        "alternateResourceUrl",
        "alternate_resource_url",
        false,
    ),
    complex(
        P::Autopatch,
        "autopatch",
        "autopatch",
        "cloudPcProvisioningPolicyAutopatch",
    ),
    text(
        P::CloudPcGroupDisplayName,
        "cloudPcGroupDisplayName",
        "cloud_pc_group_display_name",
        false,
    ),
    text(
        P::CloudPcNamingTemplate,
        "cloudPcNamingTemplate",
        "cloud_pc_naming_template",
        false,
    ),
    time(P::CreatedDateTime, "createdDateTime", "created_date_time"),
    text(P::Description, "description", "description", false),
    Def::column(
        P::DisplayName,
        "displayName",
        "display_name",
        Edm::String,
        true,
        All,
        Kind::Folded,
    )
    .compared_on("display_name_key"),
    Def::column(
        P::DomainJoinConfigurations,
        "domainJoinConfigurations",
        "domain_join_configurations",
        Edm::ComplexCollection("cloudPcDomainJoinConfiguration"),
        true,
        All,
        Kind::Collection,
    ),
    flag(
        P::EnableSingleSignOn,
        "enableSingleSignOn",
        "enable_single_sign_on",
    ),
    Def::column(
        P::GracePeriodInHours,
        "gracePeriodInHours",
        "grace_period_in_hours",
        Edm::Int32,
        true,
        All,
        Kind::Int,
    ),
    text(
        P::ImageDisplayName,
        "imageDisplayName",
        "image_display_name",
        true,
    ),
    text(P::ImageId, "imageId", "image_id", true),
    Def::column(
        P::ImageType,
        "imageType",
        "image_type",
        Edm::Enum(&POLICY_IMAGE_TYPE),
        true,
        All,
        enum_kind(&POLICY_IMAGE_TYPE),
    ),
    time(
        P::LastModifiedDateTime,
        "lastModifiedDateTime",
        "last_modified_date_time",
    ),
    flag(
        P::LocalAdminEnabled,
        "localAdminEnabled",
        "local_admin_enabled",
    ),
    Def::column(
        P::ManagedBy,
        "managedBy",
        "managed_by",
        Edm::Enum(&MANAGEMENT_SERVICE),
        true,
        BetaOnly,
        enum_kind(&MANAGEMENT_SERVICE),
    ),
    complex(
        P::MicrosoftManagedDesktop,
        "microsoftManagedDesktop",
        "microsoft_managed_desktop",
        "microsoftManagedDesktop",
    ),
    Def::column(
        P::ProvisioningType,
        "provisioningType",
        "provisioning_type",
        Edm::Enum(&PROVISIONING_TYPE),
        true,
        All,
        enum_kind(&PROVISIONING_TYPE),
    ),
    Def::column(
        P::ScopeIds,
        "scopeIds",
        "scope_ids",
        Edm::StringCollection,
        true,
        BetaOnly,
        Kind::Collection,
    ),
    Def::column(
        P::UserExperienceType,
        "userExperienceType",
        "user_experience_type",
        Edm::Enum(&USER_EXPERIENCE_TYPE),
        false,
        BetaOnly,
        enum_kind(&USER_EXPERIENCE_TYPE),
    ),
    complex(
        P::WindowsSetting,
        "windowsSetting",
        "windows_setting",
        "cloudPcWindowsSetting",
    ),
];

/// Columns of `provisioning_policies` that are no Graph property.
pub const INTERNAL_COLUMNS: [&str; 4] = ["seq", "tenant_id", "image_id_key", "display_name_key"];

impl Described for PolicyProperty {
    const TABLE: &'static [Def] = &PROPERTIES;
    const NOT_NULLABLE: &'static [Self] = &[
        P::DisplayName,
        P::ImageDisplayName,
        P::ImageId,
        P::ImageType,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_provisioning_policies_is_described() {
        for (i, d) in PROPERTIES.iter().enumerate() {
            assert_eq!(d.property as usize, i, "{} is out of place", d.name);
        }
        crate::db::assert_described(
            "provisioning_policies",
            PolicyProperty::stored().map(|(p, c)| (c, p.def().always_set)),
            &INTERNAL_COLUMNS,
        );
    }
}
