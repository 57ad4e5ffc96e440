//! `GET /{version}/$metadata`: Graph's CSDL (OData 4.0, XML) for exactly what the emulator serves, written from the
//! same descriptions as the code: the property tables of the resources ([`Described`]) and the enum tables
//! ([`EnumType`]). A property, member or version difference added there appears here too, so the document cannot
//! drift from the JSON the emulator sends (docs/api.md#metadata).

use std::fmt::Write;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};

use crate::device_images::properties::Property;
use crate::error::ApiError;
use crate::gallery_images::properties::GalleryProperty;
use crate::graph::enums::{
    EnumType, DOMAIN_JOIN_TYPE, MANAGED_DESKTOP_TYPE, REGION_GROUP, UNKNOWN_FUTURE_VALUE,
};
use crate::graph::odata::options::{parse_options, unsupported};
use crate::graph::resource::{Described, Edm};
use crate::graph::ApiVersion;
use crate::provisioning_policies::properties::PolicyProperty;
use crate::source_images::properties::SourceProperty;

/// When `reupload` was deprecated and when it stops working, as Graph publishes them (docs/fidelity.md).
pub const REUPLOAD_DEPRECATED_ON: &str = "2026-01-09";
pub const REUPLOAD_REMOVED_ON: &str = "2026-06-25";

/// `GET /{version}/$metadata`. Anonymous, as Graph's is. `$format` may ask for the XML it is (`xml`,
/// `application/xml`); another format, or another system query option, is a 400 (docs/fidelity.md: Graph describes
/// itself only in XML).
pub fn handle(req: &HttpRequest, version: ApiVersion) -> Result<HttpResponse, ApiError> {
    for option in parse_options(req.query_string(), version)? {
        match option.name.as_str() {
            "$format" if is_xml(&option.value) => {}
            "$format" => {
                return Err(ApiError::BadRequest(format!(
                    "The metadata document is served as application/xml only, not '{}'.",
                    option.value.chars().take(100).collect::<String>()
                )))
            }
            _ => return Err(unsupported(&option)),
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/xml"))
        .body(csdl(version)))
}

fn is_xml(format: &str) -> bool {
    let base = format.split(';').next().unwrap_or("").trim();
    base.eq_ignore_ascii_case("xml") || base.eq_ignore_ascii_case("application/xml")
}

/// The CSDL document of `version`.
pub fn csdl(version: ApiVersion) -> String {
    let beta = version == ApiVersion::Beta;
    let mut x = String::with_capacity(8 * 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str(
        "<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n",
    );
    if beta {
        // For reupload's Core.Revisions annotation.
        x.push_str(
            "  <edmx:Reference Uri=\"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml\">\n\
             \x20   <edmx:Include Namespace=\"Org.OData.Core.V1\" Alias=\"Core\" />\n\
             \x20 </edmx:Reference>\n",
        );
    }
    x.push_str("  <edmx:DataServices>\n");
    x.push_str(
        "    <Schema Namespace=\"microsoft.graph\" Alias=\"graph\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    x.push_str(
        "      <EntityType Name=\"entity\" Abstract=\"true\">\n\
         \x20       <Key>\n\
         \x20         <PropertyRef Name=\"id\" />\n\
         \x20       </Key>\n\
         \x20       <Property Name=\"id\" Type=\"Edm.String\" Nullable=\"false\" />\n\
         \x20     </EntityType>\n\
         \x20     <EntityType Name=\"deviceManagement\" BaseType=\"graph.entity\">\n\
         \x20       <NavigationProperty Name=\"virtualEndpoint\" Type=\"graph.virtualEndpoint\" ContainsTarget=\"true\" />\n\
         \x20     </EntityType>\n\
         \x20     <EntityType Name=\"virtualEndpoint\" BaseType=\"graph.entity\">\n\
         \x20       <NavigationProperty Name=\"deviceImages\" Type=\"Collection(graph.cloudPcDeviceImage)\" ContainsTarget=\"true\" />\n\
         \x20       <NavigationProperty Name=\"galleryImages\" Type=\"Collection(graph.cloudPcGalleryImage)\" ContainsTarget=\"true\" />\n\
         \x20       <NavigationProperty Name=\"provisioningPolicies\" Type=\"Collection(graph.cloudPcProvisioningPolicy)\" ContainsTarget=\"true\" />\n\
         \x20     </EntityType>\n",
    );
    x.push_str("      <EntityType Name=\"cloudPcDeviceImage\" BaseType=\"graph.entity\">\n");
    properties::<Property>(&mut x, version, Some("id"));
    x.push_str("      </EntityType>\n");
    x.push_str("      <ComplexType Name=\"cloudPcSourceDeviceImage\">\n");
    properties::<SourceProperty>(&mut x, version, None);
    x.push_str("      </ComplexType>\n");
    policies(&mut x, version);
    for ty in enums(version) {
        enum_type(&mut x, ty, version);
    }
    x.push_str(GET_SOURCE_IMAGES);
    if beta {
        actions(&mut x);
    }
    x.push_str(
        "      <EntityContainer Name=\"GraphService\">\n\
         \x20       <Singleton Name=\"deviceManagement\" Type=\"graph.deviceManagement\" />\n\
         \x20     </EntityContainer>\n",
    );
    x.push_str("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    x
}

/// The function that lists the source images.
const GET_SOURCE_IMAGES: &str = "      <Function Name=\"getSourceImages\" IsBound=\"true\">\n\
    \x20       <Parameter Name=\"bindingParameter\" Type=\"Collection(graph.cloudPcDeviceImage)\" />\n\
    \x20       <ReturnType Type=\"Collection(graph.cloudPcSourceDeviceImage)\" />\n\
    \x20     </Function>\n";

/// `cloudPcProvisioningPolicy` with its `assignments`, its assignment entity and complex types, the `assign` action,
/// and `cloudPcGalleryImage` (docs/policies.md). An assignment's `assignedUsers` (users are not emulated) is left out.
fn policies(x: &mut String, version: ApiVersion) {
    x.push_str("      <EntityType Name=\"cloudPcProvisioningPolicy\" BaseType=\"graph.entity\">\n");
    properties::<PolicyProperty>(x, version, Some("id"));
    x.push_str(
        "        <NavigationProperty Name=\"assignments\" Type=\"Collection(graph.cloudPcProvisioningPolicyAssignment)\" ContainsTarget=\"true\" />\n\
         \x20     </EntityType>\n\
         \x20     <EntityType Name=\"cloudPcProvisioningPolicyAssignment\" BaseType=\"graph.entity\">\n\
         \x20       <Property Name=\"target\" Type=\"graph.cloudPcManagementAssignmentTarget\" />\n\
         \x20     </EntityType>\n",
    );
    x.push_str("      <EntityType Name=\"cloudPcGalleryImage\" BaseType=\"graph.entity\">\n");
    properties::<GalleryProperty>(x, version, Some("id"));
    x.push_str("      </EntityType>\n");
    for (name, attributes, members) in COMPLEX_TYPES {
        let _ = writeln!(
            x,
            "      <ComplexType Name=\"{name}\"{attributes}{}>",
            if members.is_empty() { " /" } else { "" }
        );
        if members.is_empty() {
            continue;
        }
        for (member, ty) in members.iter() {
            let _ = writeln!(x, "        <Property Name=\"{member}\" Type=\"{ty}\" />");
        }
        x.push_str("      </ComplexType>\n");
    }
    x.push_str(
        "      <Action Name=\"assign\" IsBound=\"true\">\n\
         \x20       <Parameter Name=\"bindingParameter\" Type=\"graph.cloudPcProvisioningPolicy\" />\n\
         \x20       <Parameter Name=\"assignments\" Type=\"Collection(graph.cloudPcProvisioningPolicyAssignment)\" />\n\
         \x20     </Action>\n",
    );
}

/// The complex types of a policy: name, extra attributes, members (name, type), as Graph's v1.0 metadata has them.
type Complex = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);
pub const COMPLEX_TYPES: [Complex; 6] = [
    (
        "cloudPcDomainJoinConfiguration",
        "",
        &[
            ("domainJoinType", "graph.cloudPcDomainJoinType"),
            ("onPremisesConnectionId", "Edm.String"),
            ("regionGroup", "graph.cloudPcRegionGroup"),
            ("regionName", "Edm.String"),
        ],
    ),
    ("cloudPcWindowsSetting", "", &[("locale", "Edm.String")]),
    (
        "cloudPcManagementAssignmentTarget",
        " Abstract=\"true\"",
        &[],
    ),
    (
        "cloudPcManagementGroupAssignmentTarget",
        " BaseType=\"graph.cloudPcManagementAssignmentTarget\"",
        &[("groupId", "Edm.String"), ("servicePlanId", "Edm.String")],
    ),
    (
        "microsoftManagedDesktop",
        "",
        &[
            ("managedType", "graph.microsoftManagedDesktopType"),
            ("profile", "Edm.String"),
        ],
    ),
    (
        "cloudPcProvisioningPolicyAutopatch",
        "",
        &[("autopatchGroupId", "Edm.String")],
    ),
];

/// The beta upload actions; `reupload` with the deprecation record Graph annotates deprecated operations with.
fn actions(x: &mut String) {
    x.push_str(
        "      <Action Name=\"retryUpload\" IsBound=\"true\">\n\
         \x20       <Parameter Name=\"bindingParameter\" Type=\"graph.cloudPcDeviceImage\" />\n\
         \x20     </Action>\n\
         \x20     <Action Name=\"reupload\" IsBound=\"true\">\n\
         \x20       <Parameter Name=\"bindingParameter\" Type=\"graph.cloudPcDeviceImage\" />\n\
         \x20       <Annotation Term=\"Core.Revisions\">\n\
         \x20         <Collection>\n\
         \x20           <Record>\n",
    );
    let _ = write!(
        x,
        "              <PropertyValue Property=\"Date\" Date=\"{REUPLOAD_DEPRECATED_ON}\" />\n\
         \x20             <PropertyValue Property=\"Version\" String=\"2026-01/reupload\" />\n\
         \x20             <PropertyValue Property=\"Kind\" EnumMember=\"Core.RevisionKind/Deprecated\" />\n\
         \x20             <PropertyValue Property=\"Description\" String=\"The reupload action is deprecated and \
         stops working on {REUPLOAD_REMOVED_ON}. Use retryUpload.\" />\n\
         \x20             <PropertyValue Property=\"RemovalDate\" Date=\"{REUPLOAD_REMOVED_ON}\" />\n"
    );
    x.push_str(
        "            </Record>\n\
         \x20         </Collection>\n\
         \x20       </Annotation>\n\
         \x20     </Action>\n",
    );
}

/// The `Property` elements of a described type in `version`, in its table's order; `key` is inherited from
/// `graph.entity`, so it is not repeated.
fn properties<P: Described>(x: &mut String, version: ApiVersion, key: Option<&str>) {
    for def in P::TABLE {
        if !def.property.in_version(version) || Some(def.name) == key {
            continue;
        }
        let nullable = if P::NOT_NULLABLE.contains(&def.property) {
            " Nullable=\"false\""
        } else {
            ""
        };
        let _ = writeln!(
            x,
            "        <Property Name=\"{}\" Type=\"{}\"{nullable} />",
            def.name,
            type_name(def.edm)
        );
    }
}

/// A property's CSDL `Type`.
fn type_name(edm: Edm) -> String {
    match edm {
        Edm::String => "Edm.String".into(),
        Edm::Int32 => "Edm.Int32".into(),
        Edm::Date => "Edm.Date".into(),
        Edm::DateTimeOffset => "Edm.DateTimeOffset".into(),
        Edm::StringCollection => "Collection(Edm.String)".into(),
        Edm::Enum(ty) => format!("graph.{}", ty.name),
        Edm::Boolean => "Edm.Boolean".into(),
        Edm::Complex(name) => format!("graph.{name}"),
        Edm::ComplexCollection(name) => format!("Collection(graph.{name})"),
    }
}

/// The enum types the properties of `version` use (and the complex types' enums), once each, in the order they are
/// first used.
pub fn enums(version: ApiVersion) -> Vec<&'static EnumType> {
    fn of<P: Described>(version: ApiVersion) -> impl Iterator<Item = Edm> {
        P::TABLE
            .iter()
            .filter(move |d| d.property.in_version(version))
            .map(|d| d.edm)
    }
    let edms = of::<Property>(version)
        .chain(of::<SourceProperty>(version))
        .chain(of::<PolicyProperty>(version))
        .chain(of::<GalleryProperty>(version))
        .chain([&DOMAIN_JOIN_TYPE, &REGION_GROUP, &MANAGED_DESKTOP_TYPE].map(Edm::Enum));
    let mut out: Vec<&'static EnumType> = Vec::new();
    for edm in edms {
        if let Edm::Enum(ty) = edm {
            if !out.iter().any(|t| t.name == ty.name) {
                out.push(ty);
            }
        }
    }
    out
}

/// An `EnumType` with the members `version` has, `unknownFutureValue` between the members that precede it and the
/// evolvable ones, each valued by its position (as Graph's metadata numbers them).
fn enum_type(x: &mut String, ty: &EnumType, version: ApiVersion) {
    let _ = writeln!(x, "      <EnumType Name=\"{}\">", ty.name);
    for (value, name) in members(ty, version).iter().enumerate() {
        let _ = writeln!(x, "        <Member Name=\"{name}\" Value=\"{value}\" />");
    }
    x.push_str("      </EnumType>\n");
}

/// The member names of an enum in `version`, in Graph's value order, with the sentinel in its place.
pub fn members(ty: &EnumType, version: ApiVersion) -> Vec<&'static str> {
    let present = ty
        .members
        .iter()
        .filter(|m| version == ApiVersion::Beta || m.v1);
    let (evolvable, before): (Vec<_>, Vec<_>) = present.partition(|m| m.evolvable);
    before
        .iter()
        .map(|m| m.wire)
        .chain([UNKNOWN_FUTURE_VALUE])
        .chain(evolvable.iter().map(|m| m.wire))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    /// `reupload`'s headers and its annotation in the metadata tell the same dates.
    #[test]
    fn the_deprecation_headers_carry_the_metadatas_dates() {
        use crate::http::graph::device_images::{REUPLOAD_DEPRECATED, REUPLOAD_SUNSET};
        let midnight = |date: &str| {
            let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        };
        let deprecated = midnight(REUPLOAD_DEPRECATED_ON);
        assert_eq!(REUPLOAD_DEPRECATED, format!("@{}", deprecated.timestamp()));
        let sunset = midnight(REUPLOAD_REMOVED_ON);
        assert_eq!(
            REUPLOAD_SUNSET,
            sunset.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        );
    }

    #[test]
    fn enum_members_put_the_sentinel_before_the_evolvable_ones() {
        use crate::graph::enums::{IMAGE_ERROR_CODE, IMAGE_OS_STATUS, SOURCE_IMAGE_CATEGORY};
        let v1 = members(&IMAGE_ERROR_CODE, ApiVersion::V1);
        assert_eq!(v1.len(), 10);
        assert_eq!(v1[5], UNKNOWN_FUTURE_VALUE);
        assert_eq!(members(&IMAGE_ERROR_CODE, ApiVersion::Beta).len(), 15);
        assert_eq!(
            members(&IMAGE_OS_STATUS, ApiVersion::V1).last(),
            Some(&UNKNOWN_FUTURE_VALUE)
        );
        assert_eq!(
            members(&SOURCE_IMAGE_CATEGORY, ApiVersion::Beta),
            ["managedImage", "azureComputeGallery", UNKNOWN_FUTURE_VALUE]
        );
    }
}
