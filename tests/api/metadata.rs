//! `$metadata` and OpenAPI (issue 18, docs/api.md#metadata): the CSDL of each version equals Graph's published
//! metadata for what the emulator serves, needs no token, and every `@odata.context` the emulator emits resolves in
//! it; the OpenAPI documents list every route and describe the same types and enums. (`tests/openapi/run.sh` runs
//! the independent tools on them.)

use std::collections::BTreeSet;

use cloudpc_emulator::config::AuthMode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, body, spawn_app, spawn_with, TestApp, COLLECTION};

const EDM: &str = "http://docs.oasis-open.org/odata/ns/edm";

/// An element as a comparable value: its name, its attributes (sorted) and its child elements, annotations left out.
fn canonical(node: roxmltree::Node) -> Value {
    let attributes: serde_json::Map<String, Value> = node
        .attributes()
        .map(|a| (a.name().to_owned(), json!(a.value())))
        .collect();
    let children: Vec<Value> = node
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() != "Annotation")
        .map(canonical)
        .collect();
    json!({ "element": node.tag_name().name(), "attributes": attributes, "children": children })
}

async fn metadata(app: &TestApp, version: &str) -> String {
    let res = app
        .get(&format!("{}/{version}/$metadata", app.address))
        .await;
    assert_eq!(res.status(), 200, "{version}/$metadata");
    assert_eq!(res.headers()["content-type"], "application/xml");
    res.text().await.unwrap()
}

/// The `Schema` element of a CSDL document, checked to be Graph's namespace and alias.
fn schema<'a>(doc: &'a roxmltree::Document) -> roxmltree::Node<'a, 'a> {
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Edmx");
    assert_eq!(root.attribute("Version"), Some("4.0"));
    let schema = doc
        .descendants()
        .find(|n| n.has_tag_name((EDM, "Schema")))
        .expect("a Schema");
    assert_eq!(schema.attribute("Namespace"), Some("microsoft.graph"));
    assert_eq!(schema.attribute("Alias"), Some("graph"));
    schema
}

fn named<'a>(
    schema: roxmltree::Node<'a, 'a>,
    element: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'a>> {
    schema
        .children()
        .find(|n| n.tag_name().name() == element && n.attribute("Name") == Some(name))
}

#[tokio::test]
async fn each_versions_metadata_describes_device_images_as_graphs_published_metadata_does() {
    // jwt mode: the metadata is anonymous, as Graph's, while the same request to a resource needs a token.
    let app = spawn_with(|s| s.auth = AuthMode::Jwt).await;
    let res = app.get(&app.images("v1.0", "")).await;
    assert_error(res, 401, "InvalidAuthenticationToken").await;
    for (version, fixture) in [
        (
            "v1.0",
            include_str!("../fixtures/graph-v1.0-device-images-csdl.xml"),
        ),
        (
            "v1.0",
            include_str!("../fixtures/graph-v1.0-policies-csdl.xml"),
        ),
        (
            "beta",
            include_str!("../fixtures/graph-beta-device-images-csdl.xml"),
        ),
    ] {
        let text = metadata(&app, version).await;
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let schema = schema(&doc);
        let expected = roxmltree::Document::parse(fixture).unwrap();
        let mut compared = 0;
        for part in expected
            .root_element()
            .children()
            .filter(|n| n.is_element())
        {
            let name = part.attribute("Name").unwrap();
            let ours = named(schema, part.tag_name().name(), name)
                .unwrap_or_else(|| panic!("{version}: no {} {name}", part.tag_name().name()));
            assert_eq!(canonical(ours), canonical(part), "{version}: {name}");
            compared += 1;
        }
        assert!(compared >= 5, "{version}: {compared} parts compared");

        // Only what the emulator serves, and the path to it.
        let types: BTreeSet<&str> = schema
            .children()
            .filter(|n| n.is_element())
            .filter_map(|n| n.attribute("Name"))
            .collect();
        let mut served: BTreeSet<&str> = [
            "entity",
            "deviceManagement",
            "virtualEndpoint",
            "cloudPcDeviceImage",
            "cloudPcSourceDeviceImage",
            "cloudPcDeviceImageStatus",
            "cloudPcDeviceImageErrorCode",
            "cloudPcDeviceImageOsStatus",
            "getSourceImages",
            "GraphService",
            "cloudPcProvisioningPolicy",
            "cloudPcProvisioningPolicyAssignment",
            "cloudPcGalleryImage",
            "cloudPcGalleryImageStatus",
            "cloudPcProvisioningPolicyImageType",
            "cloudPcProvisioningType",
            "cloudPcDomainJoinConfiguration",
            "cloudPcWindowsSetting",
            "cloudPcManagementAssignmentTarget",
            "cloudPcManagementGroupAssignmentTarget",
            "cloudPcDomainJoinType",
            "cloudPcRegionGroup",
            "microsoftManagedDesktop",
            "microsoftManagedDesktopType",
            "cloudPcProvisioningPolicyAutopatch",
            "assign",
        ]
        .into();
        if version == "beta" {
            served.extend([
                "cloudPcManagementService",
                "cloudPcUserExperienceType",
                "cloudPcDeviceImageStatusDetails",
                "cloudPcSourceImageCategory",
                "retryUpload",
                "reupload",
            ]);
        }
        assert_eq!(types, served, "{version}");
        let container = named(schema, "EntityContainer", "GraphService").unwrap();
        let singleton = named(container, "Singleton", "deviceManagement").unwrap();
        assert_eq!(singleton.attribute("Type"), Some("graph.deviceManagement"));
        for (owner, navigation, target) in [
            (
                "deviceManagement",
                "virtualEndpoint",
                "graph.virtualEndpoint",
            ),
            (
                "virtualEndpoint",
                "deviceImages",
                "Collection(graph.cloudPcDeviceImage)",
            ),
            (
                "virtualEndpoint",
                "provisioningPolicies",
                "Collection(graph.cloudPcProvisioningPolicy)",
            ),
            (
                "virtualEndpoint",
                "galleryImages",
                "Collection(graph.cloudPcGalleryImage)",
            ),
            (
                "cloudPcProvisioningPolicy",
                "assignments",
                "Collection(graph.cloudPcProvisioningPolicyAssignment)",
            ),
        ] {
            let owner = named(schema, "EntityType", owner).unwrap();
            let nav = named(owner, "NavigationProperty", navigation).unwrap();
            assert_eq!(nav.attribute("Type"), Some(target));
            assert_eq!(nav.attribute("ContainsTarget"), Some("true"));
        }
        let entity = named(schema, "EntityType", "entity").unwrap();
        let key = entity
            .descendants()
            .find(|n| n.has_tag_name((EDM, "PropertyRef")));
        assert_eq!(key.and_then(|k| k.attribute("Name")), Some("id"));
    }
    // The deprecated action says so as Graph does, with the dates of its Deprecation and Sunset headers.
    let text = metadata(&app, "beta").await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    let reupload = named(schema(&doc), "Action", "reupload").unwrap();
    let annotation = reupload
        .children()
        .find(|n| n.tag_name().name() == "Annotation")
        .expect("reupload is annotated");
    assert_eq!(annotation.attribute("Term"), Some("Core.Revisions"));
    let values: Vec<(&str, &str)> = annotation
        .descendants()
        .filter(|n| n.tag_name().name() == "PropertyValue")
        .map(|n| {
            let value = n.attributes().find(|a| a.name() != "Property").unwrap();
            (n.attribute("Property").unwrap(), value.value())
        })
        .collect();
    for expected in [
        ("Kind", "Core.RevisionKind/Deprecated"),
        ("Date", "2026-01-09"),
        ("RemovalDate", "2026-06-25"),
    ] {
        assert!(values.contains(&expected), "{values:?}");
    }
}

#[tokio::test]
async fn metadata_answers_format_as_graph_and_only_get() {
    let app = spawn_app().await;
    let url = |q: &str| format!("{}/v1.0/$metadata{q}", app.address);
    for ok in ["?$format=application/xml", "?$format=xml", "?%24format=XML"] {
        let res = app.get(&url(ok)).await;
        assert_eq!(res.status(), 200, "{ok}");
        assert_eq!(res.headers()["content-type"], "application/xml");
    }
    for bad in [
        "?$format=json",
        "?$format=application/json",
        "?$top=1",
        "?$format=xml&$format=xml",
    ] {
        assert_error(app.get(&url(bad)).await, 400, "badRequest").await;
    }
    let res = app.client.post(url("")).send().await.unwrap();
    assert_error(res, 405, "MethodNotAllowed").await;
    // Host rules apply as to any route.
    let res = app
        .client
        .get(url(""))
        .header("host", "emulator.attacker.example")
        .send()
        .await
        .unwrap();
    assert_error(res, 421, "MisdirectedRequest").await;
}

/// Follows an `@odata.context` fragment through the CSDL: a `Collection(type)` names a type; a path starts at the
/// container's singleton and follows navigation properties, the last one optionally with a `$select` list (each a
/// property of its type) and `/$entity`.
fn resolve(doc: &roxmltree::Document, fragment: &str) {
    let schema = schema(doc);
    if let Some(ty) = fragment
        .strip_prefix("Collection(microsoft.graph.")
        .and_then(|t| t.strip_suffix(')'))
    {
        assert!(
            named(schema, "ComplexType", ty).is_some() || named(schema, "EntityType", ty).is_some(),
            "{fragment}"
        );
        return;
    }
    let path = fragment.strip_suffix("/$entity").unwrap_or(fragment);
    let mut segments = path.split('/');
    let container = named(schema, "EntityContainer", "GraphService").unwrap();
    let first = segments.next().unwrap();
    let singleton = named(container, "Singleton", first).unwrap_or_else(|| panic!("{fragment}"));
    let mut ty = singleton.attribute("Type").unwrap().to_owned();
    for segment in segments {
        let (name, select) = match segment.split_once('(') {
            Some((name, rest)) => (name, rest.strip_suffix(')')),
            None => (segment, None),
        };
        let owner = named(schema, "EntityType", ty.trim_start_matches("graph.")).unwrap();
        let nav = named(owner, "NavigationProperty", name).unwrap_or_else(|| panic!("{fragment}"));
        ty = nav.attribute("Type").unwrap().to_owned();
        ty = ty
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
            .map_or(ty.clone(), str::to_owned);
        // `('…')` is a key, not a `$select` list.
        if let Some(select) = select.filter(|s| !s.starts_with('\'')) {
            let target = named(schema, "EntityType", ty.trim_start_matches("graph.")).unwrap();
            for property in select.split(',') {
                assert!(
                    property == "id" || named(target, "Property", property).is_some(),
                    "{fragment}: {property}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_odata_context_the_emulator_emits_resolves_in_its_metadata() {
    let app = spawn_app().await;
    let mut contexts = Vec::new();
    for version in ["v1.0", "beta"] {
        let created = app
            .create_ok(version, &body(&format!("Context {version}"), "1.0.0"))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        contexts.push(created["@odata.context"].clone());
        for url in [
            app.images(version, ""),
            app.images(version, "?$select=id,displayName&$top=1"),
            app.images(version, &format!("/{id}")),
            app.images(version, &format!("/{id}?$select=status,version")),
            app.images(version, "/getSourceImages"),
            app.images(version, "/getSourceImages()"),
        ] {
            contexts.push(app.get_json(&url).await["@odata.context"].clone());
        }
        let items = app
            .batch_responses(
                version,
                json!([
                    {"id": "1", "method": "GET", "url": format!("/{COLLECTION}/{id}")},
                    {"id": "2", "method": "GET", "url": format!("/{COLLECTION}?$select=version")}
                ]),
            )
            .await;
        for item in &items {
            contexts.push(item["body"]["@odata.context"].clone());
        }
    }
    // Provisioning policies (with a key segment) and gallery images.
    let image = app.ready_image("Context policy image").await;
    let policy = app
        .create_policy(
            "v1.0",
            &json!({"displayName": "Context", "imageId": image, "imageType": "custom"}),
        )
        .await;
    contexts.push(policy["@odata.context"].clone());
    let id = policy["id"].as_str().unwrap();
    for version in ["v1.0", "beta"] {
        let gallery = format!(
            "{}/{version}/deviceManagement/virtualEndpoint/galleryImages",
            app.address
        );
        for url in [
            app.policies(version, "?$select=id,imageId"),
            app.policies(version, &format!("/{id}?$expand=assignments")),
            app.policies(version, &format!("/{id}/assignments")),
            gallery.clone(),
            format!("{gallery}/microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc?$select=status"),
        ] {
            contexts.push(app.get_json(&url).await["@odata.context"].clone());
        }
    }
    assert_eq!(contexts.len(), 29);
    for context in contexts {
        let context = context
            .as_str()
            .unwrap_or_else(|| panic!("a context: {context}"));
        let (document, fragment) = context.split_once('#').unwrap();
        let res = app.get(document).await;
        assert_eq!(res.status(), 200, "{document}");
        let text = res.text().await.unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        resolve(&doc, fragment);
    }
}

#[tokio::test]
async fn the_openapi_documents_list_every_route_and_the_csdls_types() {
    let app = spawn_app().await;
    let missing = app.get(&app.control("/openapi/v2.json")).await;
    assert_error(missing, 404, "ResourceNotFound").await;
    for version in ["v1.0", "beta"] {
        let doc: Value = app
            .get_json(&app.control(&format!("/openapi/{version}.json")))
            .await;
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["servers"][0]["url"], format!("/{version}"));
        let mut routes: Vec<String> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "delete", "patch", "put"] {
                if item.get(method).is_some() {
                    routes.push(format!("{method} {path}"));
                }
            }
        }
        routes.sort();
        let c = format!("/{COLLECTION}");
        let mut expected = vec![
            "get /$metadata".to_owned(),
            "post /$batch".to_owned(),
            format!("get {c}"),
            format!("post {c}"),
            format!("get {c}/$count"),
            format!("get {c}/getSourceImages()"),
            format!("get {c}/{{id}}"),
            format!("delete {c}/{{id}}"),
        ];
        let p = "/deviceManagement/virtualEndpoint/provisioningPolicies";
        let g = "/deviceManagement/virtualEndpoint/galleryImages";
        expected.extend([
            format!("get {p}"),
            format!("post {p}"),
            format!("get {p}/{{id}}"),
            format!("patch {p}/{{id}}"),
            format!("delete {p}/{{id}}"),
            format!("post {p}/{{id}}/assign"),
            format!("get {p}/{{id}}/assignments"),
            format!("get {p}/$count"),
            format!("get {g}"),
            format!("get {g}/$count"),
            format!("get {g}/{{galleryImageId}}"),
        ]);
        if version == "beta" {
            expected.push(format!("post {c}/{{id}}/retryUpload"));
            expected.push(format!("post {c}/{{id}}/reupload"));
        }
        expected.sort();
        assert_eq!(routes, expected, "{version}");

        // The same properties and enum members as the CSDL of the version.
        let text = metadata(&app, version).await;
        let csdl = roxmltree::Document::parse(&text).unwrap();
        let schema = schema(&csdl);
        let image = named(schema, "EntityType", "cloudPcDeviceImage").unwrap();
        let mut from_csdl: Vec<&str> = image
            .children()
            .filter(|n| n.has_tag_name((EDM, "Property")))
            .map(|n| n.attribute("Name").unwrap())
            .chain(["id"])
            .collect();
        from_csdl.sort_unstable();
        let schemas = &doc["components"]["schemas"];
        let mut from_openapi: Vec<&str> = schemas["microsoft.graph.cloudPcDeviceImage"]
            ["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        from_openapi.sort_unstable();
        assert_eq!(from_openapi, from_csdl, "{version}");
        for ty in schema
            .children()
            .filter(|n| n.has_tag_name((EDM, "EnumType")))
        {
            let members: Vec<&str> = ty
                .children()
                .filter(|n| n.is_element())
                .map(|n| n.attribute("Name").unwrap())
                .collect();
            let name = ty.attribute("Name").unwrap();
            assert_eq!(schemas[name]["enum"], json!(members), "{version} {name}");
        }
        let create = &schemas["imageCreate"];
        assert_eq!(
            create["required"],
            json!(["displayName", "version", "sourceImageResourceId"])
        );
        assert_eq!(create["additionalProperties"], false);
        assert!(create["properties"]["displayName"]
            .get("nullable")
            .is_none());
        assert_eq!(create["properties"]["operatingSystem"]["nullable"], true);
        // A Host the emulator does not answer to is possible on every route.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method != "parameters" {
                    assert!(op["responses"].get("421").is_some(), "{method} {path}");
                }
            }
        }
    }
}
