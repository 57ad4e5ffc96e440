//! The upload lifecycle, the source image catalog and its control plane, getSourceImages, and the upload actions
//! (docs/lifecycle.md). Time is moved on the emulator's clock rather than slept through.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{assert_error, open_writable, spawn_app, spawn_in, spawn_with, TestApp, SUB};

const WIN11: &str = "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2";
const WIN10: &str = "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win10-22h2";
const NOT_GENERALIZED: &str = "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-23h2-not-generalized";
const GALLERY: &str = "/subscriptions/7c9a2b1e-5d3f-4a6b-8c2d-1e0f9a8b7c6d/resourceGroups/rg-gallery/providers/Microsoft.Compute/galleries/w365gallery/images/win11-24h2-m365/versions/1.0.0";

fn from(source: &str, name: &str) -> Value {
    json!({ "displayName": name, "version": "1.0.0", "sourceImageResourceId": source })
}

async fn get(app: &TestApp, ver: &str, id: &str) -> Value {
    let res = app.get(&app.images(ver, &format!("/{id}"))).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The stored row's status, error code and due time.
async fn row(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>) {
    let pool = app.db().await;
    let r = sqlx::query("SELECT status, error_code, upload_due_at FROM device_images WHERE id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let out = (r.get("status"), r.get("error_code"), r.get("upload_due_at"));
    pool.close().await;
    out
}

/// Waits (bounded) until the background task has written `status` into the file, without any HTTP read.
async fn row_becomes(app: &TestApp, id: &str, status: &str) {
    for _ in 0..100 {
        if row(app, id).await.0 == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the row of {id} never became {status}");
}

fn advance(app: &TestApp, seconds: i64) {
    app.clock.advance(chrono::Duration::seconds(seconds));
}

#[tokio::test]
async fn a_catalog_source_uploads_to_ready_with_the_os_properties_of_its_entry() {
    let app = spawn_app().await;
    let created = app.create_ok("beta", &from(WIN11, "Win11")).await;
    let mut custom = from(WIN11, "Custom");
    custom["operatingSystem"] = json!("Contoso Windows");
    let custom = app.create_ok("beta", &custom).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "pending");
    let (status, _, due) = row(&app, id).await;
    assert_eq!(status, "pending");
    assert!(due.is_some(), "the due time is stored with the row");

    advance(&app, 3599);
    assert_eq!(get(&app, "beta", id).await["status"], "pending", "not yet");
    advance(&app, 2);
    let ready = get(&app, "beta", id).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["errorCode"], Value::Null);
    assert_eq!(ready["statusDetails"], Value::Null);
    assert_eq!(ready["operatingSystem"], "Windows 11 Enterprise");
    assert_eq!(ready["osBuildNumber"], "24H2");
    assert_eq!(ready["osVersionNumber"], "10.0.26100.2314");
    assert_eq!(ready["osStatus"], "supported");
    assert_eq!(ready["sizeInGB"], 64);
    assert_eq!(ready["expirationDate"], "2027-10-12");
    // The transition happened when the upload finished: creation time + the upload duration.
    let created_at =
        chrono::DateTime::parse_from_rfc3339(created["lastModifiedDateTime"].as_str().unwrap())
            .unwrap();
    let finished_at =
        chrono::DateTime::parse_from_rfc3339(ready["lastModifiedDateTime"].as_str().unwrap())
            .unwrap();
    assert_eq!((finished_at - created_at).num_seconds(), 3600);
    assert_eq!(row(&app, id).await, ("ready".into(), None, None));
    // What the create gave is kept.
    let custom = get(&app, "v1.0", custom["id"].as_str().unwrap()).await;
    assert_eq!(custom["operatingSystem"], "Contoso Windows");
    assert_eq!(custom["osBuildNumber"], "24H2");
}

#[tokio::test]
async fn unknown_and_failing_sources_end_failed_with_their_codes_mirrored_in_status_details() {
    let app = spawn_app().await;
    let unknown = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/nowhere"
    );
    let missing = app.create_ok("beta", &from(&unknown, "Missing")).await;
    // The catalog lookup ignores case, as Azure resource ids do.
    let failing = app
        .create_ok(
            "beta",
            &from(
                &NOT_GENERALIZED
                    .to_uppercase()
                    .replace("/SUBSCRIPTIONS/", "/subscriptions/"),
                "Failing",
            ),
        )
        .await;
    advance(&app, 3600);
    let cases = [
        (missing, "sourceImageNotFound"),
        (failing, "sourceImageNotGeneralized"),
    ];
    for (image, code) in cases {
        let id = image["id"].as_str().unwrap();
        let beta = get(&app, "beta", id).await;
        assert_eq!(
            (beta["status"].as_str(), beta["errorCode"].as_str()),
            (Some("failed"), Some(code))
        );
        assert_eq!(beta["statusDetails"], code);
        assert_eq!(
            beta["operatingSystem"],
            Value::Null,
            "a failed upload fills nothing"
        );
        assert_eq!(get(&app, "v1.0", id).await["errorCode"], code);
        assert_eq!(
            row(&app, id).await,
            ("failed".into(), Some(code.into()), None)
        );
    }
}

#[tokio::test]
async fn a_fixture_created_ready_never_runs_the_upload() {
    let app = spawn_app().await;
    let mut sent = from(WIN11, "Fixture");
    sent["status"] = json!("ready");
    let created = app.create_ok("v1.0", &sent).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(row(&app, id).await, ("ready".into(), None, None));
    advance(&app, 7200);
    let later = get(&app, "v1.0", id).await;
    assert_eq!(later, {
        let mut c = created.clone();
        c["@odata.context"] = later["@odata.context"].clone();
        c
    });
    assert_eq!(
        later["operatingSystem"],
        Value::Null,
        "nothing was filled in"
    );
}

#[tokio::test]
async fn reads_show_the_state_as_of_now_and_the_background_task_updates_the_file() {
    let app = spawn_app().await;
    let id = app.create_ok("v1.0", &from(WIN10, "Win10")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&app, 3600);
    // Filters and counts see the new state even before anything else read the image.
    let url = reqwest::Url::parse_with_params(
        &app.images("v1.0", ""),
        &[("$filter", "status eq 'ready'")],
    )
    .unwrap();
    let page: Value = app.get_json(url.as_str()).await;
    assert_eq!(page["value"][0]["id"], id.as_str());
    assert_eq!(page["value"][0]["osStatus"], "supportedWithWarning");

    let other = app.create_ok("v1.0", &from(WIN10, "Win10 again")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&app, 3600);
    // No HTTP read: the background task writes the transition into the file by itself.
    row_becomes(&app, &other, "ready").await;
}

#[tokio::test]
async fn an_upload_in_progress_survives_a_restart_and_completes_after_it() {
    let app = spawn_with(|s| s.upload_duration = 1).await;
    let id = app.create_ok("beta", &from(WIN11, "Restarted")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = app.stop().await;
    // While it is down, its time passes the upload's due time: the stored clock moves on, no sleep needed.
    let pool = open_writable(&dir.path().join("emulator.db")).await;
    sqlx::query("UPDATE emulator_state SET clock_offset_ms = clock_offset_ms + 5000")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let app = spawn_in(dir, |s| s.upload_duration = 1).await;
    // Completed by the restarted emulator's task, before any request.
    row_becomes(&app, &id, "ready").await;
    let image = get(&app, "beta", &id).await;
    assert_eq!(image["status"], "ready");
    assert_eq!(image["operatingSystem"], "Windows 11 Enterprise");
}

#[tokio::test]
async fn retry_upload_restarts_a_failed_upload_and_refuses_any_other_status() {
    let app = spawn_app().await;
    let later =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/later");
    let id = app.create_ok("beta", &from(&later, "Retried")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let action = |name: &str| {
        app.client
            .post(app.images("beta", &format!("/{id}/{name}")))
            .send()
    };

    // Pending: not retryable.
    let msg = assert_error(action("retryUpload").await.unwrap(), 400, "badRequest").await;
    assert!(msg.contains("'pending'"), "{msg}");
    advance(&app, 3600);
    assert_eq!(
        get(&app, "beta", &id).await["errorCode"],
        "sourceImageNotFound"
    );

    // The source appears in the catalog; the retry finds it.
    let res = app
        .put_source_image(
            &later,
            &json!({"outcome": "ready", "operatingSystem": "Windows 11 Enterprise", "osBuildNumber": "25H2"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = action("retryUpload").await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.headers().get("deprecation").is_none());
    let pending = get(&app, "beta", &id).await;
    assert_eq!(
        (pending["status"].as_str(), &pending["errorCode"]),
        (Some("pending"), &Value::Null)
    );
    assert!(row(&app, &id).await.2.is_some());
    advance(&app, 3600);
    let ready = get(&app, "beta", &id).await;
    assert_eq!(
        (ready["status"].as_str(), ready["osBuildNumber"].as_str()),
        (Some("ready"), Some("25H2"))
    );
    let msg = assert_error(action("retryUpload").await.unwrap(), 400, "badRequest").await;
    assert!(msg.contains("'ready'"), "{msg}");
    assert_eq!(
        row(&app, &id).await.0,
        "ready",
        "a refused retry changes nothing"
    );

    // Unknown and malformed ids, other methods, and v1.0, which has no such action.
    let unknown = app.images("beta", "/6f9619ff-8b86-d011-b42d-00cf4fc964ff/retryUpload");
    assert_error(
        app.client.post(&unknown).send().await.unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    assert_error(
        app.client
            .post(app.images("beta", "/nope/retryUpload"))
            .send()
            .await
            .unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    assert_error(
        app.get(&app.images("beta", &format!("/{id}/retryUpload")))
            .await,
        405,
        "MethodNotAllowed",
    )
    .await;
    let v1 = app
        .client
        .post(app.images("v1.0", &format!("/{id}/retryUpload")))
        .send()
        .await
        .unwrap();
    let msg = assert_error(v1, 400, "BadRequest").await;
    assert_eq!(msg, "Resource not found for the segment 'retryUpload'.");
}

#[tokio::test]
async fn reupload_works_like_retry_upload_with_deprecation_headers() {
    let app = spawn_app().await;
    let mut sent = from(NOT_GENERALIZED, "Reuploaded");
    sent["status"] = json!("failed");
    sent["errorCode"] = json!("sourceImageNotGeneralized");
    let id = app.create_ok("beta", &sent).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .post(app.images("beta", &format!("/{id}/reupload")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // RFC 9745: the date Graph published (2026-01-09) as a structured-field date.
    assert_eq!(res.headers()["deprecation"], "@1767916800");
    assert_eq!(res.headers()["sunset"], "Thu, 25 Jun 2026 00:00:00 GMT");
    assert_eq!(get(&app, "beta", &id).await["status"], "pending");
    advance(&app, 3600);
    assert_eq!(
        get(&app, "beta", &id).await["errorCode"],
        "sourceImageNotGeneralized"
    );
    let v1 = app
        .client
        .post(app.images("v1.0", &format!("/{id}/reupload")))
        .send()
        .await
        .unwrap();
    assert_error(v1, 400, "BadRequest").await;
}

#[tokio::test]
async fn get_source_images_lists_the_catalog_in_both_forms_and_versions() {
    let app = spawn_app().await;
    for form in ["getSourceImages", "getSourceImages()", "GETSOURCEIMAGES()"] {
        let v1: Value = app.get_json(&app.images("v1.0", &format!("/{form}"))).await;
        assert_eq!(
            v1["@odata.context"],
            format!(
                "{}/v1.0/$metadata#Collection(microsoft.graph.cloudPcSourceDeviceImage)",
                app.address
            )
        );
        let items = v1["value"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0],
            json!({"displayName": "win11-24h2", "resourceId": WIN11, "subscriptionDisplayName": "Windows 365 images",
                   "subscriptionId": "0ac520ee-14c0-480f-b6c9-0a90c58ffff0"})
        );
        let beta: Value = app.get_json(&app.images("beta", &format!("/{form}"))).await;
        let gallery = &beta["value"][3];
        assert_eq!(gallery["resourceId"], GALLERY);
        assert_eq!(
            gallery["id"], GALLERY,
            "the deprecated id holds the resource id"
        );
        assert_eq!(gallery["category"], "azureComputeGallery");
        assert_eq!(beta["value"][0]["category"], "managedImage");
    }
    let url = reqwest::Url::parse_with_params(
        &app.images("beta", "/getSourceImages()"),
        &[
            (
                "$filter",
                "category eq 'managedImage' and startswith(displayName, 'win11')",
            ),
            ("$count", "true"),
            ("$top", "1"),
        ],
    )
    .unwrap();
    let page: Value = app.get_json(url.as_str()).await;
    assert_eq!(page["@odata.count"], 2);
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&app.images("beta", "/getSourceImages?")),
        "{next}"
    );
    let rest: Value = app.get_json(next).await;
    assert_eq!(rest["value"][0]["resourceId"], NOT_GENERALIZED);
    assert!(rest.get("@odata.nextLink").is_none());
    // v1.0 has no category to filter on.
    let url = reqwest::Url::parse_with_params(
        &app.images("v1.0", "/getSourceImages"),
        &[("$filter", "category eq 'managedImage'")],
    )
    .unwrap();
    assert_error(app.get(url.as_str()).await, 400, "badRequest").await;
    assert_error(
        app.client
            .post(app.images("v1.0", "/getSourceImages"))
            .send()
            .await
            .unwrap(),
        405,
        "MethodNotAllowed",
    )
    .await;
}

#[tokio::test]
async fn catalog_changes_show_up_in_get_source_images_and_decide_later_uploads() {
    let app = spawn_app().await;
    let catalog = format!("{}/_emulator/source-images", app.address);
    let new_id = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-new/providers/Microsoft.Compute/images/broken"
    );
    let res = app
        .client
        .post(&catalog)
        .json(&json!({"resourceId": new_id, "outcome": "failed", "errorCode": "sourceImageSizeExceedsLimitation",
                      "subscriptionDisplayName": "Lab"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let entry: Value = res.json().await.unwrap();
    assert_eq!(entry["displayName"], "broken");
    assert_eq!(entry["subscriptionId"], SUB);
    assert_eq!(entry["category"], "managedImage");
    let listed: Value = app.get_json(&app.images("v1.0", "/getSourceImages")).await;
    assert!(listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["resourceId"] == new_id.as_str()));

    // A failing entry decides the upload; its evolvable code follows the Prefer rules on the way out.
    let broken = app.create_ok("beta", &from(&new_id, "Broken")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Deleting an entry: later uploads of it fail as not found.
    let res = app
        .client
        .delete(format!("{catalog}{WIN10}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_error(
        app.client
            .delete(format!("{catalog}{WIN10}"))
            .send()
            .await
            .unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    let gone = app.create_ok("beta", &from(WIN10, "Gone")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&app, 3600);
    let image = get(&app, "beta", &broken).await;
    assert_eq!(
        (image["status"].as_str(), image["errorCode"].as_str()),
        (Some("failed"), Some("unknownFutureValue"))
    );
    assert_eq!(
        row(&app, &broken).await.1.as_deref(),
        Some("sourceImageSizeExceedsLimitation")
    );
    assert_eq!(
        get(&app, "v1.0", &gone).await["errorCode"],
        "sourceImageNotFound"
    );
    let listed: Value = app.get_json(&app.images("v1.0", "/getSourceImages")).await;
    assert!(!listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["resourceId"] == WIN10));

    // Replace keeps the entry's place; the GET of one entry shows it.
    let res = app
        .client
        .put(format!("{catalog}{new_id}"))
        .json(&json!({"outcome": "ready"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let one: Value = app
        .get_json(&format!(
            "{catalog}{}",
            new_id
                .to_uppercase()
                .replace("/SUBSCRIPTIONS/", "/subscriptions/")
        ))
        .await;
    assert_eq!(
        (one["outcome"].as_str(), &one["errorCode"]),
        (Some("ready"), &Value::Null)
    );
    let all: Value = app.get_json(&catalog).await;
    assert_eq!(all["value"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn catalog_entries_are_validated() {
    let app = spawn_app().await;
    let catalog = format!("{}/_emulator/source-images", app.address);
    let id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/x");
    let cases = [
        json!({"resourceId": id}),
        json!({"resourceId": id, "outcome": "done"}),
        json!({"resourceId": id, "outcome": "failed"}),
        json!({"resourceId": id, "outcome": "ready", "errorCode": "sourceImageInvalid"}),
        json!({"resourceId": "/subscriptions/x/images/y", "outcome": "ready"}),
        json!({"outcome": "ready"}),
        json!({"resourceId": id, "outcome": "ready", "colour": "red"}),
        json!({"resourceId": id, "outcome": "ready", "sizeInGB": "64"}),
        json!({"resourceId": id, "outcome": "ready", "category": "azureComputeGallery"}),
        json!({"resourceId": id, "outcome": "ready", "displayName": "  "}),
    ];
    for sent in cases {
        let res = app.client.post(&catalog).json(&sent).send().await.unwrap();
        assert_error(res, 400, "badRequest").await;
    }
    let res = app
        .client
        .put(format!("{catalog}{id}"))
        .json(&json!({"resourceId": WIN11, "outcome": "ready"}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "badRequest").await;
    let res = app.client.post(&catalog).json(&json!({"resourceId": WIN11.to_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/"), "outcome": "ready"})).send().await.unwrap();
    assert_error(res, 409, "conflict").await;
    assert_error(
        app.get(&format!("{catalog}{id}")).await,
        404,
        "ResourceNotFound",
    )
    .await;
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM source_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 4, "only the seeded entries");
}
