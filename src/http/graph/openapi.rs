//! OpenAPI 3.0 of the emulated Graph routes, one document per version (`GET /_emulator/openapi/{version}.json`),
//! written from the same property and enum tables as the JSON the emulator sends and its `$metadata`
//! (docs/api.md#openapi): every path and method, the query options each accepts, request and response schemas with
//! nullability and enums as served, the error envelope, bearer security and the status codes each route can answer.

use serde_json::{json, Map, Value};

use super::metadata::members;
use crate::device_images::properties::Property;
use crate::graph::enums::EnumType;
use crate::graph::resource::{Described, Edm, PropertyDef};
use crate::graph::ApiVersion;
use crate::source_images::properties::SourceProperty;

const COLLECTION: &str = "/deviceManagement/virtualEndpoint/deviceImages";
const IMAGE: &str = "microsoft.graph.cloudPcDeviceImage";
const SOURCE: &str = "microsoft.graph.cloudPcSourceDeviceImage";

/// The document of `version`.
pub fn document(version: ApiVersion) -> Value {
    let v = version.as_str();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("cloudpc-emulator: Microsoft Graph {v}, Cloud PC device images"),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The routes the emulator serves, as it serves them (docs/api.md). Written from the \
                same descriptions as its responses and its $metadata.",
        },
        "servers": [{ "url": format!("/{v}") }],
        "security": [{ "bearer": [] }],
        "paths": paths(version),
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
            "schemas": schemas(version),
            "parameters": parameters(),
        },
    })
}

/// The statuses every Graph route of the emulator may answer with the error envelope, besides its own: 421 is a
/// `Host` the emulator does not answer to (docs/security.md).
const ERRORS: [u16; 7] = [400, 401, 403, 421, 429, 500, 503];

/// An operation: its id, summary, parameters (names of `components/parameters`), request body schema, its success
/// status and response, and the error statuses it adds to [`ERRORS`].
pub(super) fn operation(
    id: &str,
    summary: &str,
    parameters: &[&str],
    body: Option<Value>,
    success: (u16, Value),
    errors: &[u16],
) -> Value {
    let mut responses = Map::new();
    responses.insert(success.0.to_string(), success.1);
    for status in ERRORS.iter().chain(errors) {
        responses.insert(
            status.to_string(),
            json!({
                "description": "Graph's error envelope",
                "content": { "application/json": { "schema": schema_ref("errorResponse") } },
            }),
        );
    }
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "parameters": parameters
            .iter()
            .map(|p| json!({ "$ref": format!("#/components/parameters/{p}") }))
            .collect::<Vec<_>>(),
        "responses": responses,
    });
    if let Some(body) = body {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": body } } });
    }
    op
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(super) fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// Every path and method the emulator serves in `version`. It is long because it is the route table, as the
/// dispatcher's (`http/graph/mod.rs`) is.
fn paths(version: ApiVersion) -> Value {
    let list_params = [
        "filter",
        "select",
        "orderby",
        "top",
        "skip",
        "count",
        "skiptoken",
    ];
    let mut paths = json!({
        COLLECTION: {
            "get": operation("deviceImages.list", "List device images", &list_params, None,
                (200, json_response("A page of images", schema_ref("imageCollection"))), &[]),
            "post": operation("deviceImages.create", "Create (upload) a device image", &[],
                Some(schema_ref("imageCreate")),
                (201, json!({
                    "description": "The created image",
                    "headers": { "Location": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": schema_ref(IMAGE) } },
                    "links": links(version),
                })), &[409, 413, 415]),
        },
        format!("{COLLECTION}/$count"): {
            "get": operation("deviceImages.count", "Count device images", &["filter"], None,
                (200, json!({
                    "description": "The number of images",
                    "content": { "text/plain": { "schema": { "type": "integer", "minimum": 0 } } },
                })), &[]),
        },
        format!("{COLLECTION}/getSourceImages()"): {
            "get": operation("deviceImages.getSourceImages", "List the source images an upload can use",
                &["filter", "top", "skip", "count"], None,
                (200, json_response("A page of source images", schema_ref("sourceImageCollection"))), &[]),
        },
        format!("{COLLECTION}/{{id}}"): {
            "parameters": [{ "$ref": "#/components/parameters/id" }],
            "get": operation("deviceImages.get", "Get a device image", &["select"], None,
                (200, json_response("The image", schema_ref(IMAGE))), &[404]),
            "delete": operation("deviceImages.delete", "Delete a device image", &[], None,
                (204, json!({ "description": "Deleted" })), &[404, 405]),
        },
        "/$batch": {
            "post": operation("batch", "JSON batching: up to 20 requests", &[], Some(schema_ref("batchRequest")),
                (200, json_response("Each item's answer", schema_ref("batchResponse"))), &[413, 415]),
        },
        "/$metadata": {
            "get": {
                "operationId": "metadata",
                "summary": "The CSDL of what the emulator serves",
                "security": [],
                "parameters": [{ "$ref": "#/components/parameters/format" }],
                "responses": {
                    "200": { "description": "CSDL XML", "content": { "application/xml": { "schema": { "type": "string" } } } },
                    "400": json_response("Graph's error envelope", schema_ref("errorResponse")),
                    "421": json_response("Graph's error envelope", schema_ref("errorResponse")),
                },
            },
        },
    });
    if version == ApiVersion::Beta {
        let action = |id: &str, summary: &str, deprecated: bool| {
            let mut op = operation(
                id,
                summary,
                &[],
                None,
                (204, json!({ "description": "Retried" })),
                &[404],
            );
            op["deprecated"] = json!(deprecated);
            json!({ "parameters": [{ "$ref": "#/components/parameters/id" }], "post": op })
        };
        paths[format!("{COLLECTION}/{{id}}/retryUpload")] =
            action("deviceImages.retryUpload", "Retry a failed upload", false);
        paths[format!("{COLLECTION}/{{id}}/reupload")] = action(
            "deviceImages.reupload",
            "Retry a failed upload (deprecated: use retryUpload)",
            true,
        );
    }
    super::openapi_policies::paths(&mut paths);
    paths
}

/// What a created image's id leads to (OpenAPI links: tools such as Schemathesis follow them from a create).
fn links(version: ApiVersion) -> Value {
    let mut operations = vec![
        ("GetImage", "deviceImages.get"),
        ("DeleteImage", "deviceImages.delete"),
    ];
    if version == ApiVersion::Beta {
        operations.push(("RetryUpload", "deviceImages.retryUpload"));
    }
    operations
        .into_iter()
        .map(|(name, op)| {
            (
                name.to_owned(),
                json!({ "operationId": op, "parameters": { "id": "$response.body#/id" } }),
            )
        })
        .collect::<Map<_, _>>()
        .into()
}

/// The query (and path) parameters the operations refer to.
fn parameters() -> Value {
    let query = |name: &str, description: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema });
    json!({
        "id": { "name": "id", "in": "path", "required": true,
                "description": "The image's id (a GUID; another value is a 404, or names the collection's \
                    function or `$count`, which answer 405 to other methods)",
                "schema": { "type": "string", "format": "uuid" } },
        "filter": query("$filter", "OData filter (docs/querying.md)", json!({ "type": "string" })),
        "select": query("$select", "Comma-separated property names", json!({ "type": "string" })),
        "orderby": query("$orderby", "Property names, each optionally `asc` or `desc`", json!({ "type": "string" })),
        "top": query("$top", "Page size", json!({ "type": "integer", "minimum": 1, "maximum": 999 })),
        "skip": query("$skip", "Items to skip", json!({ "type": "integer", "minimum": 0 })),
        "count": query("$count", "Add @odata.count", json!({ "type": "boolean" })),
        "skiptoken": query("$skiptoken", "The continuation of @odata.nextLink", json!({ "type": "string" })),
        "expand": query("$expand", "Only `assignments`, on provisioning policies", json!({ "type": "string", "enum": ["assignments"] })),
        "format": query("$format", "Only XML", json!({ "type": "string", "enum": ["xml", "application/xml"] })),
    })
}

/// The schemas of `version`: the image as served and as created, the source image, their enums, pages, the
/// error envelope and `$batch`.
fn schemas(version: ApiVersion) -> Value {
    let mut schemas = Map::new();
    schemas.insert(IMAGE.into(), object::<Property>(version, Served));
    schemas.insert("imageCreate".into(), create_schema(version));
    schemas.insert(SOURCE.into(), object::<SourceProperty>(version, Served));
    for def in Property::TABLE
        .iter()
        .map(|d| (d.edm, d.property.in_version(version)))
    {
        if let (Edm::Enum(ty), true) = def {
            schemas.insert(ty.name.into(), enum_schema(ty, version, Served));
            schemas.insert(
                format!("{}.input", ty.name),
                enum_schema(ty, version, Input),
            );
        }
    }
    for def in SourceProperty::TABLE {
        if let (Edm::Enum(ty), true) = (def.edm, def.property.in_version(version)) {
            schemas.insert(ty.name.into(), enum_schema(ty, version, Served));
        }
    }
    schemas.insert("imageCollection".into(), page(IMAGE));
    schemas.insert("sourceImageCollection".into(), page(SOURCE));
    schemas.insert("errorResponse".into(), error_schema());
    schemas.insert("batchRequest".into(), batch_request());
    schemas.insert("batchResponse".into(), batch_response());
    schemas.insert("emulatorStateDocument".into(), state_document());
    super::openapi_policies::schemas(version, &mut schemas);
    Value::Object(schemas)
}

/// Whether a schema describes what the emulator sends or what a client may send.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Served,
    Input,
}
pub(super) use Direction::{Input, Served};

/// A resource as served in `version`: every property it has there, nullable unless the emulator always sets it.
pub(super) fn object<P: Described>(version: ApiVersion, direction: Direction) -> Value {
    let mut properties = Map::new();
    for def in P::TABLE.iter().filter(|d| d.property.in_version(version)) {
        properties.insert(def.name.into(), property_schema(def, direction));
    }
    json!({ "type": "object", "properties": properties })
}

fn property_schema<P>(def: &PropertyDef<P>, direction: Direction) -> Value {
    let suffix = if direction == Input { ".input" } else { "" };
    let schema = match def.edm {
        Edm::String => json!({ "type": "string" }),
        Edm::Int32 => json!({ "type": "integer", "format": "int32" }),
        Edm::Date => json!({ "type": "string", "format": "date" }),
        Edm::DateTimeOffset => json!({ "type": "string", "format": "date-time" }),
        Edm::StringCollection => json!({ "type": "array", "items": { "type": "string" } }),
        // OpenAPI 3.0 ignores siblings of `$ref`: a nullable reference is an `allOf` of one.
        Edm::Enum(ty) => json!({ "allOf": [schema_ref(&format!("{}{suffix}", ty.name))] }),
        Edm::Boolean => json!({ "type": "boolean" }),
        Edm::Complex(name) => json!({ "allOf": [schema_ref(name)] }),
        Edm::ComplexCollection(name) => json!({ "type": "array", "items": schema_ref(name) }),
    };
    match schema {
        mut schema if !def.always_set || direction == Input => {
            schema["nullable"] = json!(true);
            schema
        }
        schema => schema,
    }
}

/// What a create accepts in `version`: the image's properties, null meaning absent for the optional ones (enums
/// without the sentinel and the evolvable members a request must opt in to), `@odata.type`, and nothing else; `displayName`, `version` and `sourceImageResourceId`
/// required (docs/fidelity.md).
fn create_schema(version: ApiVersion) -> Value {
    let mut schema = object::<Property>(version, Input);
    schema["properties"]["@odata.type"] = json!({ "type": "string" });
    // The formats a create checks (docs/fidelity.md), so that generated bodies can succeed.
    schema["properties"]["version"] =
        json!({ "type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$", "maxLength": 32 });
    schema["properties"]["sourceImageResourceId"] = json!({
        "type": "string",
        "pattern": "^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourceGroups/\
            [A-Za-z0-9._()-]{1,90}/providers/Microsoft\\.Compute/images/[A-Za-z0-9._()-]{1,90}$",
    });
    // A null optional property is taken as absent; a null required one is refused.
    for required in ["displayName", "version", "sourceImageResourceId"] {
        if let Some(property) = schema["properties"][required].as_object_mut() {
            property.remove("nullable");
        }
    }
    schema["required"] = json!(["displayName", "version", "sourceImageResourceId"]);
    schema["additionalProperties"] = json!(false);
    schema
}

/// An enum as served (every member the version has, the sentinel included) or as a request may send it without
/// `Prefer: include-unknown-enum-members`.
pub(super) fn enum_schema(ty: &EnumType, version: ApiVersion, direction: Direction) -> Value {
    let names: Vec<&str> = match direction {
        Served => members(ty, version),
        Input => ty.listed(version, false),
    };
    json!({ "type": "string", "enum": names })
}

/// The emulator's state document (docs/state.md): not a Graph type, but what `GET /_emulator/state` exports and
/// `POST /_emulator/import` and `--seed` take, described here so that clients can generate and check fixtures. The
/// same in both documents: images are always beta-shaped.
fn state_document() -> Value {
    let mut image = create_schema(ApiVersion::Beta);
    // Self-contained: each version's document has its own enum schemas, and the state holds beta's every member.
    for def in Property::TABLE
        .iter()
        .filter(|d| d.property.in_version(ApiVersion::Beta))
    {
        if let Edm::Enum(ty) = def.edm {
            let mut names: Vec<Value> = members(ty, ApiVersion::Beta)
                .into_iter()
                .map(Value::from)
                .collect();
            names.push(Value::Null);
            image["properties"][def.name] =
                json!({ "type": "string", "nullable": true, "enum": names });
        }
    }
    let time = json!({ "type": "string", "format": "date-time" });
    image["properties"]["tenantId"] = json!({ "type": "string", "maxLength": 64 });
    image["properties"]["uploadDueAt"] =
        json!({ "type": "string", "format": "date-time", "nullable": true });
    image["properties"]["lastModifiedDateTime"] = time.clone();
    image["properties"]["id"] = json!({ "type": "string", "format": "uuid" });
    image["description"] = json!(
        "An image as a beta create takes it (every enum member allowed), plus the tenant, when its upload completes \
         and when it was last modified."
    );
    json!({
        "type": "object",
        "description": "The emulator's state: GET /_emulator/state, POST /_emulator/import, --seed. Every part is \
            optional.",
        "additionalProperties": false,
        "properties": {
            "images": { "type": "array", "items": image },
            "sourceImages": { "type": "array", "items": {
                "type": "object",
                "required": ["resourceId", "outcome"],
                "properties": {
                    "resourceId": { "type": "string" },
                    "outcome": { "type": "string", "enum": ["ready", "failed"] },
                    "errorCode": { "type": "string", "nullable": true },
                },
            } },
            "provisioningPolicies": super::openapi_policies::state_policies(),
            "galleryImages": super::openapi_policies::state_gallery(),
            "faults": { "type": "array", "items": {
                "type": "object",
                "required": ["action"],
                "properties": { "action": { "type": "string", "enum": ["error", "latency", "throttle"] } },
            } },
            "clock": { "type": "object", "additionalProperties": false, "properties": {
                "now": time,
                "offsetSeconds": { "type": "number", "minimum": 0 },
            } },
        },
    })
}

pub(super) fn page(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["value"],
        "properties": {
            "@odata.context": { "type": "string" },
            "@odata.count": { "type": "integer", "minimum": 0 },
            "@odata.nextLink": { "type": "string" },
            "value": { "type": "array", "items": schema_ref(item) },
        },
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "innerError": {
                        "type": "object",
                        "properties": {
                            "date": { "type": "string" },
                            "request-id": { "type": "string" },
                            "client-request-id": { "type": "string" },
                        },
                    },
                },
            },
        },
    })
}

fn batch_request() -> Value {
    json!({
        "type": "object",
        "required": ["requests"],
        "properties": {
            "requests": {
                "type": "array",
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "required": ["id", "method", "url"],
                    "properties": {
                        "id": { "type": "string" },
                        "method": { "type": "string" },
                        "url": { "type": "string" },
                        "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                        "body": {},
                        "dependsOn": { "type": "array", "items": { "type": "string" } },
                    },
                },
            },
        },
    })
}

fn batch_response() -> Value {
    json!({
        "type": "object",
        "required": ["responses"],
        "properties": {
            "responses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": { "type": "string" },
                        "status": { "type": "integer" },
                        "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                        "body": {},
                    },
                },
            },
        },
    })
}
