//! Create (docs/api.md, docs/fidelity.md): the 201, its headers, and the row it leaves behind.

use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{body, source, spawn_app, COLLECTION};

const V1_PROPERTIES: [&str; 13] = [
    "id",
    "displayName",
    "operatingSystem",
    "osBuildNumber",
    "osVersionNumber",
    "osStatus",
    "sizeInGB",
    "expirationDate",
    "lastModifiedDateTime",
    "sourceImageResourceId",
    "status",
    "errorCode",
    "version",
];

/// New ids are time-ordered GUIDs (UUIDv7, docs/fidelity.md): RFC 4122 variant, version 7, increasing in creation
/// order; a client's own id is kept.
#[tokio::test]
async fn generated_ids_are_time_ordered_guids() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let image = app
            .create_ok("v1.0", &body(&format!("Ordered {n}"), "1.0.0"))
            .await;
        let id = uuid::Uuid::try_parse(image["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7, "{id}");
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
        ids.push(id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut own = body("Own id", "1.0.0");
    own["id"] = json!("4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b");
    let image = app.create_ok("v1.0", &own).await;
    assert_eq!(image["id"], "4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b");
}

#[tokio::test]
async fn create_returns_201_with_every_v1_property_and_stores_exactly_those_values() {
    let app = spawn_app().await;
    let res = app.create("v1.0", &body("ImageForDev", "0.0.1")).await;
    assert_eq!(res.status(), 201);
    let headers = res.headers().clone();
    let image: Value = res.json().await.unwrap();
    let id = image["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_lowercase());
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("{}/v1.0/{COLLECTION}/{id}", app.address)
    );
    assert_eq!(
        image["@odata.context"],
        format!("{}/v1.0/$metadata#{COLLECTION}/$entity", app.address)
    );
    assert!(uuid::Uuid::try_parse(headers["request-id"].to_str().unwrap()).is_ok());
    assert_eq!(headers["odata-version"], "4.0");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json;odata.metadata=minimal"));
    let mut keys: Vec<&str> = image
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.retain(|k| *k != "@odata.context");
    keys.sort_unstable();
    let mut expected = V1_PROPERTIES.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(image["status"], "pending");
    assert_eq!(image["errorCode"], Value::Null);
    assert_eq!(image["osStatus"], Value::Null);

    let pool = app.db().await;
    let row = sqlx::query("SELECT * FROM device_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("id"), id);
    assert_eq!(row.get::<String, _>("display_name"), "ImageForDev");
    assert_eq!(row.get::<String, _>("display_name_key"), "imagefordev");
    assert_eq!(row.get::<String, _>("version"), "0.0.1");
    assert_eq!(
        row.get::<String, _>("source_image_resource_id"),
        source("win11-24h2")
    );
    assert_eq!(row.get::<String, _>("status"), "pending");
    assert_eq!(row.get::<Option<String>, _>("error_code"), None);
    assert_eq!(row.get::<Option<String>, _>("operating_system"), None);
    assert_eq!(row.get::<String, _>("scope_ids"), "[]");
    assert_eq!(
        row.get::<String, _>("last_modified_date_time"),
        image["lastModifiedDateTime"].as_str().unwrap()
    );
}

#[tokio::test]
async fn every_accepted_property_is_stored_and_returned() {
    let app = spawn_app().await;
    let id = "4D2E7A61-0C1F-4B8E-9A3C-2F5D6E7F8A9B";
    let sent = json!({
        "@odata.type": "#microsoft.graph.cloudPcDeviceImage",
        "id": id,
        "displayName": "Fixture",
        "version": "1.5.13",
        "sourceImageResourceId": format!(
            "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/w11/versions/1.0.0",
            crate::helpers::SUB
        ),
        "operatingSystem": "Windows 11 Enterprise",
        "osBuildNumber": "24H2",
        "osVersionNumber": "10.0.26100.2314",
        "osStatus": "supportedWithWarning",
        "sizeInGB": 64,
        "expirationDate": "2028-04-11",
        "status": "failed",
        "errorCode": "sourceImageNotGeneralized",
        "statusDetails": "sourceImageNotGeneralized",
        "scopeIds": ["0", "12"],
        "lastModifiedDateTime": "2020-01-01T00:00:00.000000+00:00"
    });
    let image = app.create_ok("beta", &sent).await;
    assert_eq!(image["id"], id.to_lowercase());
    for key in [
        "displayName",
        "version",
        "sourceImageResourceId",
        "operatingSystem",
        "osBuildNumber",
        "osVersionNumber",
        "osStatus",
        "sizeInGB",
        "expirationDate",
        "status",
        "errorCode",
        "statusDetails",
        "scopeIds",
    ] {
        assert_eq!(image[key], sent[key], "{key}");
    }
    // The server's clock wins over a lastModifiedDateTime in the body.
    assert_ne!(image["lastModifiedDateTime"], sent["lastModifiedDateTime"]);
    assert!(image["lastModifiedDateTime"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let pool = app.db().await;
    let row = sqlx::query("SELECT * FROM device_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("id"), id.to_lowercase());
    assert_eq!(row.get::<String, _>("os_status"), "supportedWithWarning");
    assert_eq!(row.get::<i64, _>("size_in_gb"), 64);
    assert_eq!(row.get::<String, _>("expiration_date"), "2028-04-11");
    assert_eq!(row.get::<String, _>("status"), "failed");
    assert_eq!(
        row.get::<String, _>("error_code"),
        "sourceImageNotGeneralized"
    );
    assert_eq!(row.get::<String, _>("scope_ids"), r#"["0","12"]"#);

    // The same id again is a conflict.
    let again = json!({ "id": id.to_lowercase(), "displayName": "Other", "version": "1.0.0",
                        "sourceImageResourceId": source("x") });
    crate::helpers::assert_error(app.create("beta", &again).await, 409, "conflict").await;
}

#[tokio::test]
async fn odata_type_without_hash_and_status_details_alone_are_accepted() {
    let app = spawn_app().await;
    let mut sent = body("Legacy", "0.0.1");
    sent["@odata.type"] = json!("microsoft.graph.cloudPcDeviceImage");
    sent["status"] = json!("failed");
    sent["statusDetails"] = json!("sourceImageNotFound");
    sent["operatingSystem"] = Value::Null;
    let image = app.create_ok("beta", &sent).await;
    assert_eq!(image["errorCode"], "sourceImageNotFound");
    assert_eq!(image["statusDetails"], "sourceImageNotFound");
    assert_eq!(image["operatingSystem"], Value::Null);
}

#[tokio::test]
async fn display_name_and_version_are_unique_with_the_name_compared_case_insensitively() {
    let app = spawn_app().await;
    app.create_ok("v1.0", &body("École Image", "1.0.0")).await;
    let msg = crate::helpers::assert_error(
        app.create("beta", &body("ÉCOLE IMAGE", "1.0.0")).await,
        409,
        "conflict",
    )
    .await;
    assert!(
        msg.contains("displayName") && msg.contains("version"),
        "{msg}"
    );
    app.create_ok("v1.0", &body("École Image", "1.0.1")).await;
    assert_eq!(app.image_rows().await, 2);
}

#[tokio::test]
async fn twenty_identical_creates_at_once_give_exactly_one_201() {
    let app = spawn_app().await;
    let sent = body("Raced", "2.0.0");
    let results = futures_util::future::join_all((0..20).map(|_| app.create("v1.0", &sent))).await;
    let mut created = 0;
    for res in results {
        match res.status().as_u16() {
            201 => created += 1,
            409 => {
                crate::helpers::assert_error(res, 409, "conflict").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.image_rows().await, 1);
}

/// Creates that arrive together are committed together (one multi-row statement per batch, issue 8): each still gets
/// its own answer, with its own values, and a conflict only for itself.
#[tokio::test]
async fn creates_committed_together_each_get_their_own_row_and_their_own_conflict() {
    let app = spawn_app().await;
    let mut sent = Vec::new();
    for n in 0..40 {
        sent.push(body(&format!("Together {n}"), &format!("1.{n}.0")));
    }
    // Ten repeats of names already sent (only one of each pair may be created), in another case.
    for n in 0..10 {
        sent.push(body(&format!("TOGETHER {n}"), &format!("1.{n}.0")));
    }
    // Ten chosen ids, five of them twice under different names.
    for n in 0..10 {
        let mut b = body(&format!("Chosen {n}"), "2.0.0");
        b["id"] = json!(format!("00000000-0000-4000-8000-{:012x}", 900 + n % 5));
        sent.push(b);
    }
    let answers = futures_util::future::join_all(sent.iter().map(|b| app.create("beta", b))).await;
    let mut created = Vec::new();
    let (mut name_conflicts, mut id_conflicts) = (0, 0);
    for (b, res) in sent.iter().zip(answers) {
        match res.status().as_u16() {
            201 => {
                let image: Value = res.json().await.unwrap();
                assert_eq!(
                    image["displayName"], b["displayName"],
                    "a 201 carries its own create"
                );
                assert_eq!(image["version"], b["version"]);
                if let Some(id) = b.get("id") {
                    assert_eq!(&image["id"], id);
                }
                created.push(image);
            }
            409 => {
                let msg = crate::helpers::assert_error(res, 409, "conflict").await;
                if b.get("id").is_some() {
                    assert!(msg.contains("with id"), "{msg}");
                    id_conflicts += 1;
                } else {
                    assert!(msg.contains("displayName"), "{msg}");
                    name_conflicts += 1;
                }
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created.len(), 40 + 5);
    assert_eq!((name_conflicts, id_conflicts), (10, 5));
    let db = app.db().await;
    let rows = sqlx::query("SELECT id, display_name FROM device_images")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), created.len());
    for image in &created {
        let stored = rows
            .iter()
            .find(|r| r.get::<String, _>("id") == image["id"].as_str().unwrap())
            .expect("every 201 has its row");
        assert_eq!(
            stored.get::<String, _>("display_name"),
            image["displayName"].as_str().unwrap()
        );
    }
}
