//! The provisioning policy and gallery image part of the OpenAPI documents (docs/policies.md): their paths, and the
//! schemas written from their descriptions, their enums and complex types (the same tables as their `$metadata`).

use serde_json::{json, Map, Value};

use super::metadata::{enums, COMPLEX_TYPES};
use super::openapi::{
    enum_schema, json_response, object, operation, page, schema_ref, Input, Served,
};
use crate::gallery_images::properties::GalleryProperty;
use crate::graph::ApiVersion;
use crate::provisioning_policies::properties::PolicyProperty;

const POLICIES: &str = "/deviceManagement/virtualEndpoint/provisioningPolicies";
const GALLERY: &str = "/deviceManagement/virtualEndpoint/galleryImages";
const POLICY: &str = "microsoft.graph.cloudPcProvisioningPolicy";
const GALLERY_IMAGE: &str = "microsoft.graph.cloudPcGalleryImage";
const ASSIGNMENT: &str = "microsoft.graph.cloudPcProvisioningPolicyAssignment";

/// Adds the policy and gallery routes to `paths` (the same in both versions). It is long because it is their route
/// table, as the dispatcher's `policy_routes` and `gallery_routes` are.
pub(super) fn paths(paths: &mut Value) {
    let list = [
        "filter",
        "select",
        "orderby",
        "top",
        "skip",
        "count",
        "skiptoken",
        "expand",
    ];
    let id = json!([{ "$ref": "#/components/parameters/id" }]);
    let none = |description: &str| (204, json!({ "description": description }));
    paths[POLICIES] = json!({
        "get": operation("provisioningPolicies.list", "List provisioning policies", &list, None,
            (200, json_response("A page of policies", schema_ref("policyCollection"))), &[]),
        "post": operation("provisioningPolicies.create", "Create a provisioning policy", &[],
            Some(schema_ref("policyCreate")),
            (201, json!({
                "description": "The created policy",
                "headers": { "Location": { "schema": { "type": "string" } } },
                "content": { "application/json": { "schema": schema_ref(POLICY) } },
            })), &[409, 413, 415]),
    });
    let count = |id: &str| {
        json!({ "get": operation(id, "Count the collection's items that match $filter", &["filter"], None,
            (200, json!({
                "description": "The number of items",
                "content": { "text/plain": { "schema": { "type": "integer", "minimum": 0 } } },
            })), &[]) })
    };
    paths[format!("{POLICIES}/$count")] = count("provisioningPolicies.count");
    paths[format!("{GALLERY}/$count")] = count("galleryImages.count");
    paths[format!("{POLICIES}/{{id}}")] = json!({
        "parameters": id,
        "get": operation("provisioningPolicies.get", "Get a provisioning policy", &["select", "expand"], None,
            (200, json_response("The policy", schema_ref(POLICY))), &[404]),
        "patch": operation("provisioningPolicies.update", "Update a provisioning policy", &[],
            Some(schema_ref("policyUpdate")), none("Updated"), &[404, 413, 415]),
        "delete": operation("provisioningPolicies.delete",
            "Delete a provisioning policy (400 while it has assignments)", &[], None, none("Deleted"), &[404]),
    });
    paths[format!("{POLICIES}/{{id}}/assign")] = json!({
        "parameters": id,
        "post": operation("provisioningPolicies.assign", "Replace the policy's assignments", &[],
            Some(schema_ref("assignRequest")), none("Assigned"), &[404, 413, 415]),
    });
    paths[format!("{POLICIES}/{{id}}/assignments")] = json!({
        "parameters": id,
        "get": operation("provisioningPolicies.assignments", "List the policy's assignments", &[], None,
            (200, json_response("The assignments", schema_ref("assignmentCollection"))), &[404]),
    });
    paths[GALLERY] = json!({
        "get": operation("galleryImages.list", "List gallery images", &list[..7], None,
            (200, json_response("A page of gallery images", schema_ref("galleryImageCollection"))), &[]),
    });
    paths[format!("{GALLERY}/{{galleryImageId}}")] = json!({
        "parameters": [{ "name": "galleryImageId", "in": "path", "required": true,
            "description": "{publisherName}_{offerName}_{skuName}", "schema": { "type": "string" } }],
        "get": operation("galleryImages.get", "Get a gallery image", &["select"], None,
            (200, json_response("The gallery image", schema_ref(GALLERY_IMAGE))), &[404]),
    });
}

/// Adds the policy and gallery schemas of `version`: the types as served, what a create and an update take, the
/// `assign` body, pages, enums (served and input) and complex types.
pub(super) fn schemas(version: ApiVersion, schemas: &mut Map<String, Value>) {
    let mut policy = object::<PolicyProperty>(version, Served);
    policy["properties"]["assignments"] =
        json!({ "type": "array", "items": schema_ref(ASSIGNMENT) });
    schemas.insert(POLICY.into(), policy);
    let mut update = object::<PolicyProperty>(version, Input);
    update["properties"]["@odata.type"] = json!({ "type": "string" });
    update["additionalProperties"] = json!(false);
    let mut create = update.clone();
    for required in ["displayName", "imageId", "imageType"] {
        if let Some(property) = create["properties"][required].as_object_mut() {
            property.remove("nullable");
        }
    }
    create["required"] = json!(["displayName", "imageId", "imageType"]);
    schemas.insert("policyCreate".into(), create);
    schemas.insert("policyUpdate".into(), update);
    schemas.insert(
        GALLERY_IMAGE.into(),
        object::<GalleryProperty>(version, Served),
    );
    schemas.insert(
        ASSIGNMENT.into(),
        json!({ "type": "object", "properties": {
            "id": { "type": "string" },
            "target": schema_ref("cloudPcManagementGroupAssignmentTarget"),
        }}),
    );
    schemas.insert(
        "assignRequest".into(),
        json!({ "type": "object", "required": ["assignments"], "additionalProperties": false, "properties": {
            "assignments": { "type": "array", "maxItems": 100, "items": schema_ref(ASSIGNMENT) },
        }}),
    );
    schemas.insert("policyCollection".into(), page(POLICY));
    schemas.insert("galleryImageCollection".into(), page(GALLERY_IMAGE));
    schemas.insert("assignmentCollection".into(), page(ASSIGNMENT));
    for ty in enums(version) {
        schemas
            .entry(ty.name)
            .or_insert_with(|| enum_schema(ty, version, Served));
        schemas
            .entry(format!("{}.input", ty.name))
            .or_insert_with(|| enum_schema(ty, version, Input));
    }
    complex_types(schemas);
}

/// The complex types of a policy, with their members' enums by reference.
fn complex_types(schemas: &mut Map<String, Value>) {
    for (name, _, members) in COMPLEX_TYPES {
        let mut properties = Map::new();
        properties.insert("@odata.type".into(), json!({ "type": "string" }));
        for (member, ty) in members.iter() {
            let schema = match ty.strip_prefix("graph.") {
                Some(enum_name) => json!({ "allOf": [schema_ref(enum_name)], "nullable": true }),
                None => json!({ "type": "string", "nullable": true }),
            };
            properties.insert(member.to_string(), schema);
        }
        schemas.insert(
            name.to_string(),
            json!({ "type": "object", "nullable": true, "properties": properties }),
        );
    }
}

/// The policies of the state document (`emulatorStateDocument`): as a beta create takes them (every enum member
/// allowed), plus their tenant, times and assignments.
pub(super) fn state_policies() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    json!({ "type": "array", "items": {
        "type": "object",
        "required": ["displayName", "imageId", "imageType"],
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "tenantId": { "type": "string", "maxLength": 64 },
            "imageType": { "type": "string", "enum": ["gallery", "custom"] },
            "createdDateTime": time,
            "lastModifiedDateTime": time,
            "assignments": { "type": "array", "items": {
                "type": "object",
                "required": ["target"],
                "properties": { "target": { "type": "object", "required": ["groupId"] } },
            } },
        },
    } })
}

/// The gallery images of the state document, as `PUT /_emulator/gallery-images` takes them.
pub(super) fn state_gallery() -> Value {
    json!({ "type": "array", "items": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": { "type": "string" },
            "status": { "type": "string", "enum": ["supported", "supportedWithWarning", "notSupported"] },
        },
    } })
}
