//! State in and out (docs/state.md): the state document exported, imported (merge, replace, per tenant) and seeded
//! at start-up; a bad document changes nothing.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, body, dump, output_within_30s, source, spawn_app, spawn_in, spawn_with,
    tenant_token, TestApp,
};

/// Creates an image as a tenant; its answer.
async fn create_as(app: &TestApp, tenant: &str, image: &Value) -> Value {
    let res = app
        .client
        .post(app.images("beta", ""))
        .bearer_auth(tenant_token(tenant))
        .json(image)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{image}");
    res.json().await.unwrap()
}

async fn state_of(app: &TestApp, query: &str) -> Value {
    app.get_json(&app.control(&format!("/state{query}"))).await
}

async fn import(app: &TestApp, query: &str, doc: &Value) -> reqwest::Response {
    app.post_control(&format!("/import{query}"), doc).await
}

/// A state document's parts keyed so that order does not matter; the clock by its offset.
fn comparable(state: &Value) -> BTreeMap<String, Value> {
    let keyed = |part: &str, key: &str| -> Value {
        let mut items: Vec<Value> = state[part].as_array().cloned().unwrap_or_default();
        items.sort_by_key(|v| format!("{}|{}", v["tenantId"], v[key]));
        Value::Array(items)
    };
    BTreeMap::from([
        ("images".into(), keyed("images", "id")),
        ("sourceImages".into(), keyed("sourceImages", "resourceId")),
        (
            "provisioningPolicies".into(),
            keyed("provisioningPolicies", "id"),
        ),
        ("galleryImages".into(), keyed("galleryImages", "id")),
        ("faults".into(), keyed("faults", "id")),
        ("clock".into(), state["clock"]["offsetSeconds"].clone()),
    ])
}

/// An emulator holding a bit of everything: images of two tenants in three statuses, a changed catalog, a fault rule
/// with a count, a moved clock.
async fn populated() -> TestApp {
    let app = spawn_app().await;
    create_as(&app, "contoso", &body("Pending", "1.0.0")).await;
    let mut ready = body("Ready", "1.0.0");
    ready["status"] = json!("ready");
    ready["scopeIds"] = json!(["0", "7"]);
    ready["osStatus"] = json!("supported");
    let ready = create_as(&app, "fabrikam", &ready).await;
    // A custom policy on the ready image, assigned, and a gallery policy; an added gallery image.
    let policy = json!({"displayName": "Fabrikam policy", "imageId": ready["id"], "imageType": "custom",
        "windowsSetting": {"locale": "nb-NO"}, "provisioningType": "sharedByUser"});
    let res = app
        .client
        .post(app.policies("beta", ""))
        .bearer_auth(tenant_token("fabrikam"))
        .header("Prefer", "include-unknown-enum-members")
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let policy: Value = res.json().await.unwrap();
    let res = app
        .client
        .post(app.policies("beta", &format!("/{}/assign", policy["id"].as_str().unwrap())))
        .bearer_auth(tenant_token("fabrikam"))
        .json(&json!({"assignments": [{"target": {"groupId": "64ff06de-9c00-4a5a-98b5-7f5abe26ffff"}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let gallery = json!({"displayName": "Contoso gold", "status": "supportedWithWarning"});
    let res = app
        .send(
            "PUT",
            &app.control("/gallery-images/contoso_gold_1"),
            Some(&gallery),
        )
        .await;
    assert_eq!(res.status(), 201);
    let gallery_policy =
        json!({"displayName": "Gold", "imageId": "contoso_gold_1", "imageType": "gallery"});
    let res = app
        .client
        .post(app.policies("v1.0", ""))
        .bearer_auth(tenant_token("contoso"))
        .json(&gallery_policy)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut failed = body("Failed", "2.0.0");
    failed["status"] = json!("failed");
    failed["errorCode"] = json!("sourceImageNotGeneralized");
    create_as(&app, "contoso", &failed).await;
    let entry = json!({"outcome": "failed", "errorCode": "sourceImageInvalid"});
    assert_eq!(
        app.put_source_image(&source("broken"), &entry)
            .await
            .status(),
        201
    );
    app.add_fault(&json!({"action": "error", "status": 503, "path": "*/nowhere", "count": 2}))
        .await;
    app.advance_clock(90).await;
    app
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_emulator_exports_again_identically() {
    let first = populated().await;
    let exported = state_of(&first, "").await;
    assert_eq!(exported["images"].as_array().unwrap().len(), 3);

    let second = spawn_app().await;
    let res = import(&second, "", &exported).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["imported"]["images"], 3);
    assert_eq!(answer["imported"]["faults"], 1);
    assert_eq!(answer["imported"]["provisioningPolicies"], 2);
    assert_eq!(
        answer["imported"]["galleryImages"], 1,
        "the seeded six were there"
    );
    let policies = exported["provisioningPolicies"].as_array().unwrap();
    assert_eq!(policies[0]["tenantId"], "fabrikam");
    assert_eq!(
        policies[0]["provisioningType"], "sharedByUser",
        "every member"
    );
    assert_eq!(
        policies[0]["assignments"][0]["target"]["groupId"],
        "64ff06de-9c00-4a5a-98b5-7f5abe26ffff"
    );
    assert_eq!(
        answer["imported"]["sourceImages"], 1,
        "the seeded entries were there already"
    );
    assert_eq!(
        comparable(&state_of(&second, "").await),
        comparable(&exported)
    );

    // The images are served as Graph images to their own tenants, and the rows hold the tenants.
    let pool = second.db().await;
    let tenants: Vec<String> =
        sqlx::query_scalar("SELECT tenant_id FROM device_images ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(tenants, ["contoso", "fabrikam", "contoso"]);
    let offset: i64 = sqlx::query_scalar("SELECT clock_offset_ms FROM emulator_state")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(offset, 90_000, "the clock offset is stored");
    let id = exported["images"][1]["id"].as_str().unwrap();
    let res = second
        .client
        .get(second.images("v1.0", &format!("/{id}")))
        .bearer_auth(tenant_token("fabrikam"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The imported rule is active.
    let res = second
        .get(&format!("{}/beta/nowhere", second.address))
        .await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn merge_refuses_a_clash_and_a_bad_document_changes_nothing() {
    let app = populated().await;
    let exported = state_of(&app, "").await;
    // Reading the journal writes what it still holds, so that the dump is final.
    app.get(&app.control("/requests?limit=1")).await;
    let before = dump(&app.db_path).await;

    // The same images again: the first clashes on its id.
    let res = import(&app, "", &json!({ "images": exported["images"] })).await;
    let message = assert_error(res, 409, "conflict").await;
    assert!(message.starts_with("images[0]: "), "{message}");
    // A new id, but displayName + version are taken in that tenant.
    let mut twin = exported["images"][0].clone();
    twin["id"] = json!("4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b");
    let doc = json!({ "images": [body("Fresh", "1.0.0"), twin] });
    let message = assert_error(import(&app, "", &doc).await, 409, "conflict").await;
    assert!(
        message.starts_with("images[1]: ") && message.contains("displayName"),
        "{message}"
    );
    // A catalog entry that differs from the stored one with its id.
    let doc = json!({ "sourceImages": [{"resourceId": source("broken"), "outcome": "ready"}] });
    let message = assert_error(import(&app, "", &doc).await, 409, "conflict").await;
    assert!(message.starts_with("sourceImages[0]: "), "{message}");
    // A bad entry after good ones, in every part.
    let doc = json!({
        "faults": [{"action": "latency", "latencyMs": 5}],
        "images": [body("A", "1.0.0"), body("B", "1.0.0"), body("C", "1.0.0"), body("D", "1.0")],
    });
    let message = assert_error(import(&app, "", &doc).await, 400, "badRequest").await;
    assert!(message.starts_with("images[3].version: "), "{message}");
    let doc = json!({ "faults": [{"action": "error", "status": 700}] });
    let message = assert_error(import(&app, "", &doc).await, 400, "badRequest").await;
    assert!(message.starts_with("faults[0].status: "), "{message}");
    for (query, doc) in [
        ("?mode=replace", json!({"images": [{"displayName": "x"}]})),
        ("?mode=sideways", json!({})),
        ("?tenant=a%20b", json!({})),
        ("", json!({"images": {}})),
        ("", json!({"clock": {"offsetSeconds": -5}})),
        ("?tenant=contoso", json!({"clock": {"offsetSeconds": 5}})),
    ] {
        let res = import(&app, query, &doc).await;
        assert_error(res, 400, "badRequest").await;
    }
    assert_eq!(
        dump(&app.db_path).await,
        before,
        "no refused import left anything behind"
    );
}

#[tokio::test]
async fn replace_starts_from_a_reset_and_merge_adds() {
    let app = populated().await;
    let doc = json!({
        "images": [
            {"id": "4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b", "displayName": "Fixture", "version": "1.0.0",
             "sourceImageResourceId": source("win11"), "status": "ready",
             "lastModifiedDateTime": "2026-01-02T03:04:05Z"},
        ],
    });
    let res = import(&app, "?mode=replace", &doc).await;
    assert_eq!(res.status(), 200);
    let state = state_of(&app, "").await;
    assert_eq!(state["images"].as_array().unwrap().len(), 1);
    assert_eq!(
        state["images"][0]["lastModifiedDateTime"],
        "2026-01-02T03:04:05.000Z"
    );
    assert_eq!(
        state["images"][0]["tenantId"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(
        state["faults"],
        json!([]),
        "a replace resets the fault rules"
    );
    assert_eq!(state["clock"]["offsetSeconds"], 0.0, "and the clock");
    assert_eq!(
        state["sourceImages"].as_array().unwrap().len(),
        5,
        "the catalog stays when the document has none"
    );
    app.get(&app.images("v1.0", "")).await;
    let journal = app
        .get_json(&format!("{}/_emulator/requests", app.address))
        .await;
    assert_eq!(
        journal["value"].as_array().unwrap().len(),
        1,
        "a replace empties the journal, as a reset does"
    );
    assert_eq!(journal["value"][0]["id"], 1, "and numbers it from 1 again");
    let got = app
        .get_json(&app.images("v1.0", "/4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b"))
        .await;
    assert_eq!(got["status"], "ready");

    let res = import(
        &app,
        "?mode=merge",
        &json!({ "images": [body("Added", "1.0.0")] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.image_rows().await, 2);
    // A pending image without a due time completes one upload duration after the import.
    let state = state_of(&app, "").await;
    let added = state["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["displayName"] == "Added");
    assert!(added.unwrap()["uploadDueAt"].is_string());
}

#[tokio::test]
async fn a_tenants_reset_state_and_import_leave_other_tenants_alone() {
    let app = populated().await;
    let fabrikam = state_of(&app, "?tenant=fabrikam").await;
    assert_eq!(
        fabrikam.as_object().unwrap().len(),
        2,
        "a tenant's state is its images and policies"
    );
    assert_eq!(fabrikam["images"].as_array().unwrap().len(), 1);
    assert_eq!(
        fabrikam["provisioningPolicies"].as_array().unwrap().len(),
        1
    );
    let res = app
        .client
        .post(app.control("/reset?tenant=contoso"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["images"], 2);
    let state = state_of(&app, "").await;
    assert_eq!(state["images"].as_array().unwrap().len(), 1);
    assert_eq!(state["images"][0]["tenantId"], "fabrikam");
    let policies = state["provisioningPolicies"].as_array().unwrap();
    assert_eq!(
        policies.len(),
        1,
        "contoso's gallery policy went with its reset"
    );
    assert_eq!(policies[0]["tenantId"], "fabrikam");
    assert_eq!(
        state["faults"].as_array().unwrap().len(),
        1,
        "the rules stay"
    );
    assert_eq!(state["clock"]["offsetSeconds"], 90.0, "and the clock");

    // Fabrikam's own export goes into contoso only without its tenantId.
    let message = assert_error(
        import(&app, "?tenant=contoso", &fabrikam).await,
        400,
        "badRequest",
    )
    .await;
    assert!(message.starts_with("images[0].tenantId: "), "{message}");
    let mut image = fabrikam["images"][0].clone();
    image.as_object_mut().unwrap().remove("tenantId");
    let res = import(
        &app,
        "?tenant=CONTOSO&mode=replace",
        &json!({ "images": [image] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let pool = app.db().await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT tenant_id, id FROM device_images ORDER BY tenant_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let id = fabrikam["images"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        rows,
        [("contoso".into(), id.clone()), ("fabrikam".into(), id)]
    );
    let res = app
        .client
        .post(app.control("/reset?tenant=x&catalog=true"))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "badRequest").await;
}

/// Two CI jobs on two tenants reset and seed their tenants at the same time, over and over, and each sees exactly
/// its own fixtures.
#[tokio::test]
async fn two_jobs_on_two_tenants_reset_and_seed_in_parallel() {
    let app = spawn_app().await;
    let job = |tenant: &'static str| {
        let (client, address) = (app.client.clone(), app.address.clone());
        async move {
            let control = |path: &str| format!("{address}/_emulator{path}");
            for round in 0..15 {
                let reset = client
                    .post(control(&format!("/reset?tenant={tenant}")))
                    .send();
                assert_eq!(reset.await.unwrap().status(), 200);
                let images: Vec<Value> = (0..3)
                    .map(|n| body(&format!("{tenant}-{round}-{n}"), "1.0.0"))
                    .collect();
                let res = client
                    .post(control(&format!("/import?tenant={tenant}")))
                    .json(&json!({ "images": images }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let listed: Value = client
                    .get(format!(
                        "{address}/v1.0/deviceManagement/virtualEndpoint/deviceImages"
                    ))
                    .bearer_auth(tenant_token(tenant))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let mut names: Vec<String> = listed["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["displayName"].as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                let expected: Vec<String> =
                    (0..3).map(|n| format!("{tenant}-{round}-{n}")).collect();
                assert_eq!(names, expected, "{tenant} sees its own fixtures only");
            }
        }
    };
    tokio::join!(job("jobone"), job("jobtwo"));
}

fn seed_file(app_dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = app_dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_seed_fills_a_new_database_once_or_at_every_start() {
    let seeds = tempfile::tempdir().unwrap();
    let json_seed = seed_file(
        seeds.path(),
        "seed.json",
        &json!({
            "images": [{"displayName": "Seeded", "version": "1.0.0", "sourceImageResourceId": source("s"),
                        "status": "ready", "tenantId": "contoso"}],
            "faults": [{"action": "latency", "latencyMs": 1, "path": "/x"}],
        })
        .to_string(),
    );
    let app = spawn_with(|s| s.seed = Some(json_seed.clone())).await;
    assert_eq!(app.image_rows().await, 1);
    let state = state_of(&app, "").await;
    assert_eq!(state["images"][0]["tenantId"], "contoso");
    assert_eq!(
        state["faults"].as_array().unwrap().len(),
        1,
        "the rule is active"
    );
    app.create_ok("beta", &body("Mine", "1.0.0")).await;
    let dir = app.stop().await;

    // Not new any more: the seed is not applied again.
    let app = spawn_in(dir, |s| s.seed = Some(json_seed.clone())).await;
    assert_eq!(app.image_rows().await, 2);
    let dir = app.stop().await;

    // `always`: a reset, then the seed, at every start (here from YAML).
    let yaml_seed = seed_file(
        seeds.path(),
        "seed.yaml",
        &format!(
            "images:\n  - displayName: From YAML\n    version: 2.0.0\n    sourceImageResourceId: {}\n    status: ready\n",
            source("y")
        ),
    );
    let app = spawn_in(dir, |s| {
        s.seed = Some(yaml_seed.clone());
        s.seed_mode = cloudpc_emulator::config::SeedMode::Always;
    })
    .await;
    let state = state_of(&app, "").await;
    let names: Vec<&str> = state["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["From YAML"]);
    assert_eq!(state["faults"], json!([]));
}

/// docs/examples/seed.yaml, the seed the docs and the compose override use, starts the emulator with what it says.
#[tokio::test]
async fn the_documented_example_seed_starts_the_emulator() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/seed.yaml");
    let app = spawn_with(|s| s.seed = Some(example.into())).await;
    let state = state_of(&app, "").await;
    let tenants: Vec<&str> = state["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tenantId"].as_str().unwrap())
        .collect();
    assert_eq!(
        tenants,
        ["00000000-0000-0000-0000-000000000001", "contoso", "contoso"]
    );
    assert_eq!(
        state["sourceImages"].as_array().unwrap().len(),
        2,
        "the seed's catalog replaces the default"
    );
    assert_eq!(state["faults"].as_array().unwrap().len(), 1);
    let dev = app
        .get_json(&app.images("v1.0", "/4d2e7a61-0c1f-4b8e-9a3c-2f5d6e7f8a9b"))
        .await;
    assert_eq!(dev["status"], "ready");
}

#[tokio::test]
async fn a_database_first_started_without_a_seed_is_not_seeded_later() {
    let app = spawn_app().await;
    let dir = app.stop().await;
    let seed = seed_file(
        dir.path(),
        "seed.json",
        &json!({ "images": [body("Late", "1.0.0")] }).to_string(),
    );
    let app = spawn_in(dir, |s| s.seed = Some(seed.clone())).await;
    assert_eq!(app.image_rows().await, 0);
}

#[test]
fn a_bad_seed_stops_the_start_naming_the_entry_and_leaves_the_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let seed = seed_file(
        dir.path(),
        "seed.json",
        &json!({ "images": [body("A", "1.0.0"), body("B", "1.0.0"), body("C", "1.0.0"), body("D", "one")] })
            .to_string(),
    );
    let run = |mode: &str| {
        output_within_30s(
            std::process::Command::new(crate::helpers::bin())
                .args([
                    "--listen",
                    "127.0.0.1:0",
                    "--database",
                    db.to_str().unwrap(),
                ])
                .args(["--seed", &seed, "--seed-mode", mode]),
        )
    };
    let out = run("new");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing listened");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("images[3].version: "), "{stderr}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (images, pending) = rt.block_on(async {
        let pool = crate::helpers::open_read_only(&db).await;
        let images: i64 = sqlx::query_scalar("SELECT count(*) FROM device_images")
            .fetch_one(&pool)
            .await
            .unwrap();
        let pending: i64 = sqlx::query_scalar("SELECT seed_pending FROM emulator_state")
            .fetch_one(&pool)
            .await
            .unwrap();
        (images, pending)
    });
    assert_eq!(
        (images, pending),
        (0, 1),
        "nothing stored; the seed is still to be applied"
    );
    assert!(!run("always").status.success());
}
