//! Every validation rule (docs/api.md, docs/fidelity.md): the status, Graph's envelope, and no row left behind.

use serde_json::{json, Value};

use crate::helpers::{assert_error, body, source, spawn_app, SUB};

/// `body` with `key` set to `value` (or removed, for `None`).
fn with(key: &str, value: Option<Value>) -> Value {
    let mut b = body("Valid", "1.0.0");
    match value {
        Some(v) => b[key] = v,
        None => {
            b.as_object_mut().unwrap().remove(key);
        }
    }
    b
}

#[tokio::test]
async fn each_rule_gives_400_naming_the_property_and_stores_nothing() {
    let app = spawn_app().await;
    let long = "x".repeat(257);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("beta", with("displayName", None), "displayName"),
        (
            "beta",
            with("displayName", Some(Value::Null)),
            "displayName",
        ),
        ("beta", with("displayName", Some(json!(""))), "displayName"),
        (
            "beta",
            with("displayName", Some(json!("   "))),
            "displayName",
        ),
        (
            "beta",
            with("displayName", Some(json!(long))),
            "displayName",
        ),
        ("beta", with("displayName", Some(json!(5))), "displayName"),
        ("beta", with("version", None), "version"),
        ("beta", with("version", Some(json!("1.0"))), "version"),
        ("beta", with("version", Some(json!("1.0.0.0"))), "version"),
        ("beta", with("version", Some(json!("a.b.c"))), "version"),
        ("beta", with("version", Some(json!("-1.0.0"))), "version"),
        (
            "beta",
            with("version", Some(json!(format!("1.1.{}", "1".repeat(29))))),
            "version",
        ),
        ("beta", with("version", Some(json!(1.0))), "version"),
        (
            "beta",
            with("sourceImageResourceId", None),
            "sourceImageResourceId",
        ),
        (
            "beta",
            with(
                "sourceImageResourceId",
                Some(json!(
                    "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/i"
                )),
            ),
            "sourceImageResourceId",
        ),
        (
            "beta",
            with(
                "sourceImageResourceId",
                Some(json!(format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/images/i"
                ))),
            ),
            "sourceImageResourceId",
        ),
        (
            "beta",
            with(
                "sourceImageResourceId",
                Some(json!(format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/"
                ))),
            ),
            "sourceImageResourceId",
        ),
        (
            "beta",
            with("sourceImageResourceId", Some(json!([source("a")]))),
            "sourceImageResourceId",
        ),
        ("beta", with("id", Some(json!("not-a-guid"))), "id"),
        ("beta", with("id", Some(json!(7))), "id"),
        (
            "beta",
            with("operatingSystem", Some(json!(11))),
            "operatingSystem",
        ),
        (
            "beta",
            with("osBuildNumber", Some(json!(["24H2"]))),
            "osBuildNumber",
        ),
        (
            "beta",
            with("osVersionNumber", Some(json!({"a": 1}))),
            "osVersionNumber",
        ),
        (
            "beta",
            with("osVersionNumber", Some(json!("1".repeat(257)))),
            "osVersionNumber",
        ),
        ("beta", with("sizeInGB", Some(json!("64"))), "sizeInGB"),
        ("beta", with("sizeInGB", Some(json!(-1))), "sizeInGB"),
        ("beta", with("sizeInGB", Some(json!(1.5))), "sizeInGB"),
        (
            "beta",
            with("sizeInGB", Some(json!(2147483648u64))),
            "sizeInGB",
        ),
        ("beta", with("osStatus", Some(json!("great"))), "osStatus"),
        ("beta", with("status", Some(json!("done"))), "status"),
        (
            "beta",
            with("status", Some(json!("unknownFutureValue"))),
            "status",
        ),
        ("beta", with("status", Some(json!(true))), "status"),
        (
            "beta",
            with("errorCode", Some(json!("diskFull"))),
            "errorCode",
        ),
        (
            "beta",
            with("statusDetails", Some(json!("diskFull"))),
            "statusDetails",
        ),
        (
            "beta",
            with("expirationDate", Some(json!("2026-13-01"))),
            "expirationDate",
        ),
        (
            "beta",
            with("expirationDate", Some(json!("2026-01-31T00:00:00Z"))),
            "expirationDate",
        ),
        (
            "beta",
            with("expirationDate", Some(json!("2026-1-31"))),
            "expirationDate",
        ),
        ("beta", with("scopeIds", Some(json!("0"))), "scopeIds"),
        ("beta", with("scopeIds", Some(json!([0]))), "scopeIds"),
        (
            "beta",
            with("lastModifiedDateTime", Some(json!("yesterday"))),
            "lastModifiedDateTime",
        ),
        (
            "beta",
            with("@odata.type", Some(json!("#microsoft.graph.user"))),
            "@odata.type",
        ),
        // Evolvable members need the Prefer header (docs/fidelity.md#paging-and-query-options) ...
        ("beta", with("status", Some(json!("warning"))), "status"),
        // ... and beta-only members do not exist in v1.0 at all.
        ("v1.0", with("status", Some(json!("warning"))), "status"),
        // errorCode belongs to failed images; statusDetails may not contradict it.
        (
            "beta",
            with("errorCode", Some(json!("sourceImageInvalid"))),
            "errorCode",
        ),
        (
            "beta",
            json!({"displayName": "a", "version": "1.0.0", "sourceImageResourceId": source("a"), "status": "failed",
                   "errorCode": "sourceImageInvalid", "statusDetails": "sourceImageNotFound"}),
            "statusDetails",
        ),
    ];
    for (ver, sent, property) in cases {
        let res = app.create(ver, &sent).await;
        let msg = assert_error(res, 400, "badRequest").await;
        assert!(msg.contains(&format!("'{property}'")), "{sent} -> {msg}");
    }
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn evolvable_members_are_accepted_with_the_prefer_header() {
    let app = spawn_app().await;
    let mut sent = body("Evolving", "1.0.0");
    sent["status"] = json!("failed");
    sent["errorCode"] = json!("vmAlreadyAzureAdJoined");
    let without = app.create("v1.0", &sent).await;
    assert_error(without, 400, "badRequest").await;
    let res = app
        .client
        .post(app.images("v1.0", ""))
        .header("Prefer", "return=minimal, include-unknown-enum-members")
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()["preference-applied"],
        "include-unknown-enum-members"
    );
    let image: Value = res.json().await.unwrap();
    // Stored and emitted in the SDK spelling, whichever spelling was sent.
    assert_eq!(image["errorCode"], "vmAlreadyAzureAdjoined");
}

#[tokio::test]
async fn properties_the_type_does_not_have_are_refused_with_graphs_message() {
    let app = spawn_app().await;
    let cases = [
        ("beta", "colour"),
        ("v1.0", "DisplayName"),
        // v1.0's type has neither of these beta properties.
        ("v1.0", "scopeIds"),
        ("v1.0", "statusDetails"),
    ];
    for (ver, property) in cases {
        let mut sent = body("Valid", "1.0.0");
        sent[property] = json!(["0"]);
        let msg = assert_error(app.create(ver, &sent).await, 400, "badRequest").await;
        assert!(
            msg.starts_with(&format!(
                "The property '{property}' does not exist on type 'microsoft.graph.cloudPcDeviceImage'."
            )),
            "{msg}"
        );
    }
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn malformed_bodies_are_400_wrong_media_types_415_and_oversized_bodies_413() {
    let app = spawn_app().await;
    let url = app.images("beta", "");
    let raw = |content_type: Option<&'static str>, bytes: Vec<u8>| {
        let mut req = app.client.post(&url).body(bytes);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let json_ct = Some("application/json");
    for bad in [
        &b"{"[..],
        b"[]",
        b"\"x\"",
        b"",
        b"null",
        b"{\"displayName\":\"a\"} trailing",
        b"{\"displayName\":\"a\",\"displayName\":\"b\",\"version\":\"1.0.0\"}",
        b"\xff\xfe{}",
    ] {
        let res = raw(json_ct, bad.to_vec()).await.unwrap();
        assert_error(res, 400, "badRequest").await;
    }
    let valid = serde_json::to_vec(&body("Typed", "1.0.0")).unwrap();
    let res = raw(Some("text/plain"), valid.clone()).await.unwrap();
    assert_error(res, 415, "UnsupportedMediaType").await;
    let res = raw(None, valid.clone()).await.unwrap();
    assert_error(res, 415, "UnsupportedMediaType").await;
    // Parameters are allowed, and the media type is case-insensitive.
    let res = raw(Some("Application/JSON; charset=utf-8"), valid)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let mut huge = body("Huge", "1.0.0");
    huge["operatingSystem"] = json!("x".repeat(1024 * 1024));
    let res = raw(json_ct, serde_json::to_vec(&huge).unwrap())
        .await
        .unwrap();
    assert_error(res, 413, "RequestEntityTooLarge").await;
    assert_eq!(app.image_rows().await, 1);
}

/// Issue 9: every property a create accepts, with every JSON type it does not accept, is a 400 that names the
/// property, and nothing is stored.
#[tokio::test]
async fn every_property_with_every_wrong_json_type_is_refused() {
    let app = spawn_app().await;
    let types: [(&str, Value); 5] = [
        ("boolean", json!(true)),
        ("number", json!(7)),
        ("string", json!("7")),
        ("array", json!(["7"])),
        ("object", json!({ "a": "7" })),
    ];
    // Each property and the JSON types it takes (null aside: optional properties take it, required ones do not).
    let properties: [(&str, &[&str]); 16] = [
        ("displayName", &["string"]),
        ("version", &["string"]),
        ("sourceImageResourceId", &["string"]),
        ("id", &["string"]),
        ("operatingSystem", &["string"]),
        ("osBuildNumber", &["string"]),
        ("osVersionNumber", &["string"]),
        ("sizeInGB", &["number"]),
        ("osStatus", &["string"]),
        ("status", &["string"]),
        ("errorCode", &["string"]),
        ("statusDetails", &["string"]),
        ("expirationDate", &["string"]),
        ("scopeIds", &["array"]),
        ("lastModifiedDateTime", &["string"]),
        ("@odata.type", &["string"]),
    ];
    let mut tried = 0;
    for (property, accepted) in properties {
        for (kind, value) in &types {
            if accepted.contains(kind) {
                continue;
            }
            let res = app
                .create("beta", &with(property, Some(value.clone())))
                .await;
            let message = assert_error(res, 400, "badRequest").await;
            assert!(
                message.contains(property),
                "{property} as a {kind}: the message does not name it: {message}"
            );
            tried += 1;
        }
    }
    // Arrays and numbers of the wrong inner kind too.
    for (property, value) in [
        ("scopeIds", json!([7])),
        ("scopeIds", json!([["a"]])),
        ("sizeInGB", json!(1.5)),
        ("sizeInGB", json!(-1)),
    ] {
        let res = app.create("beta", &with(property, Some(value))).await;
        let message = assert_error(res, 400, "badRequest").await;
        assert!(message.contains(property), "{message}");
        tried += 1;
    }
    assert_eq!(tried, 68);
    assert_eq!(app.image_rows().await, 0, "nothing was stored");
}
