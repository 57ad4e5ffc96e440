//! Every SQL statement of provisioning policies and their assignments (`provisioning_policies`,
//! `policy_assignments`, see `migrations/V9__provisioning_policies_and_gallery_images.sql`). Each write is one
//! transaction on the writer connection, and the rules that depend on other rows run inside it: the image a policy
//! names is looked up in the same transaction that stores the policy, and an image delete (in the group writer's
//! transaction) asks [`using_image_in`]. The writer connection is the only one that writes, so a policy create and an
//! image delete cannot interleave between the check and the write.

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::complex::AssignmentTarget;
use super::domain::{Changes, NewPolicy, PolicyValues, GRACE_PERIOD_IN_HOURS};
use super::query::{assignments_sql, json_sql};
use crate::db::Database;
use crate::device_images::domain::DisplayName;
use crate::error::ApiError;
use crate::graph::enums::{GalleryImageStatus, GraphEnum, PolicyImageType};
use crate::graph::ApiVersion;

/// How a policy is projected: the version, the `Prefer` preference, `$select` and `$expand=assignments`.
pub struct Projection<'a> {
    pub version: ApiVersion,
    pub include_unknown: bool,
    pub select: Option<&'a [super::properties::PolicyProperty]>,
    pub expand: bool,
}

/// Stores a new policy of the tenant once its image is checked; its id and its JSON as stored.
pub async fn insert(
    db: &Database,
    tenant_id: &str,
    new: NewPolicy,
    now: &str,
    projection: &Projection<'_>,
) -> Result<(String, String), ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let (_, id) = insert_in(&mut tx, tenant_id, new, now, now).await?;
            let json = one_json(&mut tx, tenant_id, &id, projection).await?;
            tx.commit().await?;
            let json =
                json.ok_or_else(|| ApiError::internal("the inserted policy was not found"))?;
            Ok((id, json))
        }
        .await,
    )
}

/// Stores a new policy inside the caller's transaction once its image is checked (a create, or an import); its
/// `seq` and id. A taken id is a 409.
pub async fn insert_in(
    tx: &mut SqliteConnection,
    tenant_id: &str,
    new: NewPolicy,
    created: &str,
    modified: &str,
) -> Result<(i64, String), ApiError> {
    let mut values = new.values;
    resolve_image(tx, tenant_id, &mut values).await?;
    let id = new.id.unwrap_or_else(Uuid::new_v4).hyphenated().to_string();
    let inserted = bind(sqlx::query_scalar(INSERT), &values)
        .bind(&id)
        .bind(tenant_id)
        .bind(GRACE_PERIOD_IN_HOURS)
        .bind(created)
        .bind(modified)
        .fetch_one(&mut *tx)
        .await;
    match inserted {
        Ok(seq) => Ok((seq, id)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(ApiError::Conflict(
            format!("A provisioning policy with id '{id}' already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The policy's JSON, or `None` when the tenant has no policy with this id.
pub async fn get(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
    projection: &Projection<'_>,
) -> Result<Option<String>, ApiError> {
    let mut conn = db.read().await?;
    one_json(
        &mut conn,
        tenant_id,
        &id.hyphenated().to_string(),
        projection,
    )
    .await
}

async fn one_json(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    id: &str,
    p: &Projection<'_>,
) -> Result<Option<String>, ApiError> {
    let sql = format!(
        "SELECT {} FROM provisioning_policies WHERE tenant_id = ? AND id = ?",
        json_sql(p.version, p.include_unknown, p.select, p.expand)
    );
    let rows: Vec<String> = sqlx::query_scalar(&sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().next())
}

/// Applies an update to the tenant's policy; false when there is none. A changed image is checked as on create.
pub async fn update(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
    changes: Changes,
    now: &str,
) -> Result<bool, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let Some((seq, current)) = current(&mut tx, tenant_id, id).await? else {
                return Ok(false);
            };
            let recheck = changes.names_image();
            let mut values = changes.update(current, id)?;
            if recheck || values.image_display_name.is_none() {
                resolve_image(&mut tx, tenant_id, &mut values).await?;
            }
            bind(sqlx::query(UPDATE), &values)
                .bind(now)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await,
    )
}

/// Deletes the tenant's policy; false when there is none. A policy with assignments is refused (Graph: "only a
/// provisioning policy that has no assignments can be deleted"), in the delete's own transaction.
pub async fn delete(db: &Database, tenant_id: &str, id: Uuid) -> Result<bool, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let rows = sqlx::query(
                "SELECT p.seq, p.display_name, (SELECT count(*) FROM policy_assignments a WHERE a.policy_seq = p.seq) \
                 FROM provisioning_policies p WHERE p.tenant_id = ? AND p.id = ?",
            )
            .bind(tenant_id)
            .bind(id.hyphenated().to_string())
            .fetch_all(&mut *tx)
            .await?;
            let Some(row) = rows.first() else {
                return Ok(false);
            };
            let (seq, name, assigned): (i64, String, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if assigned > 0 {
                return Err(ApiError::BadRequest(format!(
                    "The provisioning policy '{name}' ({id}) is assigned to {assigned} group(s); only a provisioning \
                     policy that has no assignments can be deleted. Remove its assignments first (assign with an \
                     empty list)."
                )));
            }
            sqlx::query("DELETE FROM provisioning_policies WHERE seq = ?")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await,
    )
}

/// Replaces the tenant's policy's assignments; false when there is no such policy.
pub async fn assign(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
    targets: &[AssignmentTarget],
    now: &str,
) -> Result<bool, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let id = id.hyphenated().to_string();
            let seqs: Vec<i64> = sqlx::query_scalar(
                "UPDATE provisioning_policies SET last_modified_date_time = ? WHERE tenant_id = ? AND id = ? \
                 RETURNING seq",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
            let Some(seq) = seqs.first() else {
                return Ok(false);
            };
            replace_assignments_in(&mut tx, *seq, &id, targets).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await,
    )
}

/// Replaces the assignments of the policy with this `seq` and id, inside the caller's transaction.
pub async fn replace_assignments_in(
    tx: &mut SqliteConnection,
    seq: i64,
    policy_id: &str,
    targets: &[AssignmentTarget],
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM policy_assignments WHERE policy_seq = ?")
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    for (position, t) in targets.iter().enumerate() {
        sqlx::query(
            "INSERT INTO policy_assignments (policy_seq, position, id, group_id, service_plan_id) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(position as i64)
        .bind(format!("{policy_id}_{}", t.group_id))
        .bind(&t.group_id)
        .bind(&t.service_plan_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Every policy (of one tenant, or of all) as the state document exports it: the tenant and the beta JSON with every
/// enum member and the assignments, in creation order.
pub async fn export(
    db: &Database,
    tenant_id: Option<&str>,
) -> Result<Vec<(String, String)>, ApiError> {
    let json = json_sql(ApiVersion::Beta, true, None, true);
    let filter = if tenant_id.is_some() {
        "WHERE tenant_id = ?"
    } else {
        ""
    };
    let sql = format!("SELECT tenant_id, {json} FROM provisioning_policies {filter} ORDER BY seq");
    let rows = sqlx::query(&sql)
        .bind(tenant_id)
        .fetch_all(&mut *db.read().await?)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The policy's assignments as a JSON array, or `None` when the tenant has no policy with this id.
pub async fn assignments(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
) -> Result<Option<String>, ApiError> {
    let sql = format!(
        "SELECT {} FROM provisioning_policies WHERE tenant_id = ? AND id = ?",
        assignments_sql("provisioning_policies.seq")
    );
    let rows: Vec<String> = sqlx::query_scalar(&sql)
        .bind(tenant_id)
        .bind(id.hyphenated().to_string())
        .fetch_all(&mut *db.read().await?)
        .await?;
    Ok(rows.into_iter().next())
}

/// Every tenant that holds a policy.
pub async fn tenants(db: &Database) -> Result<Vec<String>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM provisioning_policies ORDER BY 1")
            .fetch_all(&mut *db.read().await?)
            .await?,
    )
}

/// The display names of the tenant's policies that use the device image, inside the caller's transaction (the
/// image delete's guard).
pub async fn using_image_in(
    tx: &mut SqliteConnection,
    tenant_id: &str,
    image_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT display_name FROM provisioning_policies WHERE tenant_id = ? AND image_id_key = lower(?) \
         AND image_type = 'custom' ORDER BY seq",
    )
    .bind(tenant_id)
    .bind(image_id)
    .fetch_all(&mut *tx)
    .await
}

/// Checks that the image a policy names may be used, and fills `imageDisplayName` from it when not given: a
/// custom image must be a `ready` device image of the tenant, a gallery image one that is not `notSupported`.
async fn resolve_image(
    tx: &mut SqliteConnection,
    tenant_id: &str,
    values: &mut PolicyValues,
) -> Result<(), ApiError> {
    let id = values.image_id.clone();
    let name = match values.image_type {
        PolicyImageType::Custom => {
            let rows = sqlx::query(
                "SELECT display_name, status FROM device_images WHERE tenant_id = ? AND id = ?",
            )
            .bind(tenant_id)
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
            let row = rows.first().ok_or_else(|| {
                ApiError::invalid(
                    "imageId",
                    format!("no device image with id '{id}' exists in this tenant"),
                )
            })?;
            let status: String = row.try_get(1)?;
            if status != "ready" {
                return Err(ApiError::invalid(
                    "imageId",
                    format!("the device image '{id}' is '{status}'; a policy can use only a 'ready' image"),
                ));
            }
            row.try_get::<String, _>(0)?
        }
        PolicyImageType::Gallery => {
            let image = crate::gallery_images::repository::find_in(tx, &id)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "imageId",
                        format!("no gallery image with id '{id}' exists (see galleryImages)"),
                    )
                })?;
            if image.status == GalleryImageStatus::NotSupported {
                return Err(ApiError::invalid(
                    "imageId",
                    format!("the gallery image '{}' is 'notSupported' and cannot be used by a new policy", image.id),
                ));
            }
            values.image_id = image.id;
            image.display_name
        }
    };
    if values.image_display_name.is_none() {
        values.image_display_name = Some(name);
    }
    Ok(())
}

/// The stored values of the tenant's policy, with its `seq`.
async fn current(
    tx: &mut SqliteConnection,
    tenant_id: &str,
    id: Uuid,
) -> Result<Option<(i64, PolicyValues)>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT seq, {VALUE_COLUMNS} FROM provisioning_policies WHERE tenant_id = ? AND id = ?"
    ))
    .bind(tenant_id)
    .bind(id.hyphenated().to_string())
    .fetch_all(&mut *tx)
    .await?;
    rows.first()
        .map(|row| Ok((row.try_get("seq")?, decode(row)?)))
        .transpose()
}

/// The settable columns, in [`bind`]'s order.
const VALUE_COLUMNS: &str = "display_name, display_name_key, description, image_type, image_id, image_id_key, \
    image_display_name, cloud_pc_naming_template, enable_single_sign_on, local_admin_enabled, provisioning_type, \
    domain_join_configurations, windows_setting, microsoft_managed_desktop, autopatch, scope_ids, user_experience_type";
const INSERT: &str = "INSERT INTO provisioning_policies (display_name, display_name_key, description, image_type, \
    image_id, image_id_key, image_display_name, cloud_pc_naming_template, enable_single_sign_on, local_admin_enabled, \
    provisioning_type, domain_join_configurations, windows_setting, microsoft_managed_desktop, autopatch, scope_ids, \
    user_experience_type, id, tenant_id, grace_period_in_hours, created_date_time, last_modified_date_time) \
    VALUES (?, ?, ?, ?, ?, lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq";
const UPDATE: &str = "UPDATE provisioning_policies SET display_name = ?, display_name_key = ?, description = ?, \
    image_type = ?, image_id = ?, image_id_key = lower(?), image_display_name = ?, cloud_pc_naming_template = ?, \
    enable_single_sign_on = ?, local_admin_enabled = ?, provisioning_type = ?, domain_join_configurations = ?, \
    windows_setting = ?, microsoft_managed_desktop = ?, autopatch = ?, scope_ids = ?, user_experience_type = ?, \
    last_modified_date_time = ? WHERE seq = ?";

/// Binds the settable values in [`VALUE_COLUMNS`]' order, on any query (a statement or one returning a value).
fn bind<'q, Q: Bind<'q>>(query: Q, v: &PolicyValues) -> Q {
    let json = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    query
        .bind_value(v.display_name.as_str().to_owned())
        .bind_value(v.display_name.key())
        .bind_value(v.description.clone())
        .bind_value(v.image_type.wire())
        .bind_value(v.image_id.clone())
        .bind_value(v.image_id.clone())
        .bind_value(v.image_display_name.clone().unwrap_or_default())
        .bind_value(v.cloud_pc_naming_template.clone())
        .bind_value(v.enable_single_sign_on)
        .bind_value(v.local_admin_enabled)
        .bind_value(v.provisioning_type.wire())
        .bind_value(v.domain_join_configurations.to_string())
        .bind_value(json(&v.windows_setting))
        .bind_value(json(&v.microsoft_managed_desktop))
        .bind_value(json(&v.autopatch))
        .bind_value(Value::from(v.scope_ids.clone()).to_string())
        .bind_value(v.user_experience_type.map(GraphEnum::wire))
}

/// A query that values can be bound to.
trait Bind<'q>: Sized {
    fn bind_value<T: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
        self,
        value: T,
    ) -> Self;
}

impl<'q> Bind<'q> for sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    fn bind_value<T: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
        self,
        value: T,
    ) -> Self {
        self.bind(value)
    }
}

impl<'q, O> Bind<'q>
    for sqlx::query::QueryScalar<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments<'q>>
{
    fn bind_value<T: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
        self,
        value: T,
    ) -> Self {
        self.bind(value)
    }
}

/// A stored row's settable values.
fn decode(row: &SqliteRow) -> Result<PolicyValues, ApiError> {
    fn stored<E: GraphEnum>(wire: &str) -> Result<E, ApiError> {
        E::from_wire(wire)
            .ok_or_else(|| ApiError::internal(format!("'{wire}' is not in {}", E::TYPE.name)))
    }
    let json = |column: &str| -> Result<Option<Value>, ApiError> {
        row.try_get::<Option<&str>, _>(column)?
            .map(|s| serde_json::from_str(s).map_err(ApiError::internal))
            .transpose()
    };
    let name: String = row.try_get("display_name")?;
    Ok(PolicyValues {
        display_name: DisplayName::parse(&name).map_err(ApiError::internal)?,
        description: row.try_get("description")?,
        image_type: stored(row.try_get("image_type")?)?,
        image_id: row.try_get("image_id")?,
        image_display_name: Some(row.try_get("image_display_name")?),
        cloud_pc_naming_template: row.try_get("cloud_pc_naming_template")?,
        enable_single_sign_on: row.try_get("enable_single_sign_on")?,
        local_admin_enabled: row.try_get("local_admin_enabled")?,
        provisioning_type: stored(row.try_get("provisioning_type")?)?,
        domain_join_configurations: json("domain_join_configurations")?.unwrap_or_default(),
        windows_setting: json("windows_setting")?,
        microsoft_managed_desktop: json("microsoft_managed_desktop")?,
        autopatch: json("autopatch")?,
        scope_ids: serde_json::from_value(json("scope_ids")?.unwrap_or_default())
            .map_err(ApiError::internal)?,
        user_experience_type: row
            .try_get::<Option<&str>, _>("user_experience_type")?
            .map(stored)
            .transpose()?,
    })
}
