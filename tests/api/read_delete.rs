//! Get, list with paging, and delete (docs/api.md, docs/querying.md).

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{assert_error, body, spawn_app, spawn_with, TestApp, COLLECTION};

async fn json_ok(app: &TestApp, url: &str) -> Value {
    let res = app.get(url).await;
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn get_returns_what_create_returned_and_ids_match_case_insensitively() {
    let app = spawn_app().await;
    let created = app.create_ok("beta", &body("Getter", "1.0.0")).await;
    let id = created["id"].as_str().unwrap();
    let got = json_ok(&app, &app.images("beta", &format!("/{id}"))).await;
    assert_eq!(got, created);
    let upper = json_ok(
        &app,
        &app.images("beta", &format!("/{}", id.to_uppercase())),
    )
    .await;
    assert_eq!(upper["id"], id);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = spawn_app().await;
    for id in [
        "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "nope",
        "6f9619ff8b86d011b42d00cf4fc964ff",
        "%27x%27",
        "{6f9619ff-8b86-d011-b42d-00cf4fc964ff}",
        "%00",
        "%E2%82%AC",
    ] {
        let res = app.get(&app.images("v1.0", &format!("/{id}"))).await;
        assert_error(res, 404, "ResourceNotFound").await;
        let res = app
            .client
            .delete(app.images("v1.0", &format!("/{id}")))
            .send()
            .await
            .unwrap();
        assert_error(res, 404, "ResourceNotFound").await;
    }
}

#[tokio::test]
async fn delete_is_204_then_the_image_and_its_row_are_gone() {
    let app = spawn_app().await;
    let keep = app.create_ok("v1.0", &body("Keep", "1.0.0")).await;
    let gone = app.create_ok("v1.0", &body("Gone", "1.0.0")).await;
    let url = app.images("v1.0", &format!("/{}", gone["id"].as_str().unwrap()));
    let res = app.client.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.headers().contains_key("request-id"));
    assert_eq!(res.text().await.unwrap(), "");
    assert_error(app.get(&url).await, 404, "ResourceNotFound").await;
    assert_error(
        app.client.delete(&url).send().await.unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    let pool = app.db().await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM device_images")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids, [keep["id"].as_str().unwrap()]);
    // The name and version are free again.
    app.create_ok("v1.0", &body("Gone", "1.0.0")).await;
}

#[tokio::test]
async fn list_pages_by_page_size_with_absolute_next_links_until_every_image_was_seen_once() {
    let app = spawn_with(|s| s.page_size = 3).await;
    let mut created = Vec::new();
    for i in 0..8 {
        let image = app
            .create_ok("v1.0", &body(&format!("Image {i}"), "1.0.0"))
            .await;
        created.push(image["id"].as_str().unwrap().to_owned());
    }
    let first = json_ok(&app, &app.images("v1.0", "")).await;
    assert_eq!(
        first["@odata.context"],
        format!("{}/v1.0/$metadata#{COLLECTION}", app.address)
    );
    assert_eq!(first["value"].as_array().unwrap().len(), 3);
    assert!(first["value"][0].get("@odata.context").is_none());
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/{COLLECTION}?", app.address)),
        "{next}"
    );
    assert!(next.contains("$skiptoken="), "{next}");

    let (ids, pages) = app.walk(&app.images("v1.0", "")).await;
    assert_eq!(pages, 3);
    assert_eq!(ids, created, "creation order, each once");

    // $top bounds the page further and is carried in the next link.
    let (ids, pages) = app.walk(&app.images("beta", "?$top=2")).await;
    assert_eq!((ids.len(), pages), (8, 4));
    let page = json_ok(&app, &app.images("beta", "?top=2")).await;
    assert!(page["@odata.nextLink"]
        .as_str()
        .unwrap()
        .contains("$top=2&"));
}

#[tokio::test]
async fn paging_is_stable_while_other_clients_insert_and_delete() {
    let app = spawn_with(|s| s.page_size = 4).await;
    let mut before = Vec::new();
    for i in 0..12 {
        before.push(
            app.create_ok("v1.0", &body(&format!("Before {i}"), "1.0.0"))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut url = app.images("v1.0", "");
    let mut round = 0;
    loop {
        let page = json_ok(&app, &url).await;
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        // Between pages: delete an image already seen, and add a new one.
        let victim = &before[round];
        let deleted = app
            .client
            .delete(app.images("v1.0", &format!("/{victim}")))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204, "the delete between pages happened");
        app.create_ok("v1.0", &body(&format!("During {round}"), "1.0.0"))
            .await;
        round += 1;
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no image twice");
    for id in &before {
        assert!(
            seen.contains(id),
            "every image that existed throughout was seen"
        );
    }
}

#[tokio::test]
async fn a_forged_skiptoken_is_400() {
    let app = spawn_app().await;
    for token in ["abc", "zz", "6b313a2d31"] {
        let res = app
            .get(&app.images("v1.0", &format!("?$skiptoken={token}")))
            .await;
        assert_error(res, 400, "badRequest").await;
    }
}
