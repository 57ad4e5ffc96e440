//! The complex values of a provisioning policy (`domainJoinConfigurations`, `windowsSetting`,
//! `microsoftManagedDesktop`, `autopatch`) and the `assign` action's body, checked member by member: each error names
//! its path (`domainJoinConfigurations[1].regionGroup`), an unknown member is refused, and what is stored is the
//! normalised JSON Graph returns (every member, in its CSDL order).

use serde_json::{json, Map, Value};

use super::domain::{check_odata_type, member, parse_guid};
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{DomainJoinType, GraphEnum, ManagedDesktopType, RegionGroup};
use crate::graph::values::{json_type, text};
use crate::graph::ApiVersion;

/// Most domain join configurations one policy may carry.
const MAX_ITEMS: usize = 20;

/// The members of a complex value: an object whose keys are among `members` (or annotations), named `path` in
/// errors. Each member a client did not give is null.
fn complex(
    path: &str,
    value: &Value,
    ty: &str,
    members: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let object = value.as_object().ok_or_else(|| {
        ApiError::invalid(
            path,
            format!("an object ({ty}) is required, not {}", json_type(value)),
        )
    })?;
    let mut out: Map<String, Value> = members
        .iter()
        .map(|m| (m.to_string(), Value::Null))
        .collect();
    for (key, v) in object {
        match key.as_str() {
            "@odata.type" => {
                check_odata_type(v, &format!("microsoft.graph.{ty}")).map_err(|_| {
                    ApiError::invalid(
                        path,
                        format!("'@odata.type' must be '#microsoft.graph.{ty}'"),
                    )
                })?
            }
            k if members.contains(&k) => {
                out.insert(k.to_owned(), v.clone());
            }
            k if k.contains('@') => {}
            k => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{k}' does not exist on type 'microsoft.graph.{ty}' ({path})."
                )))
            }
        }
    }
    Ok(out)
}

/// A string member of a complex value, or null.
fn member_text(
    path: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ApiError> {
    match &map[key] {
        Value::Null => Ok(None),
        v => text(&format!("{path}.{key}"), v).map(Some),
    }
}

/// A GUID member of a complex value (lower-cased), or null.
fn member_guid(
    path: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ApiError> {
    member_text(path, map, key)?
        .map(|s| {
            parse_guid(&s)
                .map(|id| id.hyphenated().to_string())
                .map_err(|rule| ApiError::invalid(&format!("{path}.{key}"), rule))
        })
        .transpose()
}

fn enum_member<E: GraphEnum>(
    path: &str,
    map: &Map<String, Value>,
    key: &str,
    version: ApiVersion,
    prefer: bool,
) -> Result<Option<E>, ApiError> {
    match &map[key] {
        Value::Null => Ok(None),
        v => member(&format!("{path}.{key}"), v, version, prefer).map(Some),
    }
}

/// `Collection(cloudPcDomainJoinConfiguration)`, up to [`MAX_ITEMS`] entries.
pub(super) fn domain_joins(
    value: &Value,
    version: ApiVersion,
    prefer: bool,
) -> Result<Value, ApiError> {
    const NAME: &str = "domainJoinConfigurations";
    if value.is_null() {
        return Ok(json!([]));
    }
    let items = value
        .as_array()
        .filter(|a| a.len() <= MAX_ITEMS)
        .ok_or_else(|| {
            ApiError::invalid(
                NAME,
                format!("must be an array of at most {MAX_ITEMS} objects"),
            )
        })?;
    let joins = items
        .iter()
        .enumerate()
        .map(|(i, item)| domain_join(&format!("{NAME}[{i}]"), item, version, prefer))
        .collect::<Result<_, _>>()?;
    Ok(Value::Array(joins))
}

/// One `cloudPcDomainJoinConfiguration`. A hybrid join needs the on-premises connection it joins through; an Entra
/// join without one uses a Microsoft-hosted network in `regionName` (`automatic`, region group `default`, when not
/// given).
fn domain_join(
    path: &str,
    item: &Value,
    version: ApiVersion,
    prefer: bool,
) -> Result<Value, ApiError> {
    let mut members = vec![
        "domainJoinType",
        "onPremisesConnectionId",
        "regionGroup",
        "regionName",
    ];
    if version == ApiVersion::Beta {
        // Beta's deprecated spelling of domainJoinType.
        members.push("type");
    }
    let map = complex(path, item, "cloudPcDomainJoinConfiguration", &members)?;
    let key = match (
        map.get("type").filter(|v| !v.is_null()),
        &map["domainJoinType"],
    ) {
        (Some(_), Value::Null) => "type",
        _ => "domainJoinType",
    };
    let join = enum_member::<DomainJoinType>(path, &map, key, version, prefer)?
        .unwrap_or(DomainJoinType::AzureAdJoin);
    let connection = member_guid(path, &map, "onPremisesConnectionId")?;
    let mut region_group = enum_member::<RegionGroup>(path, &map, "regionGroup", version, prefer)?;
    let mut region_name = member_text(path, &map, "regionName")?;
    if connection.is_none() {
        if join == DomainJoinType::HybridAzureAdJoin {
            return Err(ApiError::invalid(
                &format!("{path}.onPremisesConnectionId"),
                "a hybridAzureADJoin needs the on-premises connection it joins through",
            ));
        }
        region_name.get_or_insert_with(|| "automatic".into());
        region_group.get_or_insert(RegionGroup::Default);
    }
    Ok(json!({
        "domainJoinType": join.wire(),
        "onPremisesConnectionId": connection,
        "regionGroup": region_group.map(GraphEnum::wire),
        "regionName": region_name,
    }))
}

/// `cloudPcWindowsSetting`: `locale`, a language tag such as `en-US`.
pub(super) fn windows_setting(value: &Value) -> Result<Option<Value>, ApiError> {
    const NAME: &str = "windowsSetting";
    if value.is_null() {
        return Ok(None);
    }
    let map = complex(NAME, value, "cloudPcWindowsSetting", &["locale"])?;
    let locale = member_text(NAME, &map, "locale")?;
    if let Some(l) = &locale {
        let mut parts = l.split('-');
        let language = parts.next().unwrap_or_default();
        let tag = (2..=3).contains(&language.len())
            && language.bytes().all(|b| b.is_ascii_alphabetic())
            && parts.all(|p| {
                (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !tag {
            return Err(ApiError::invalid(
                "windowsSetting.locale",
                "must be a language tag such as 'en-US'",
            ));
        }
    }
    Ok(Some(json!({ "locale": locale })))
}

/// Beta's deprecated `windowsSettings` (`cloudPcWindowsSettings`: `language`, a language tag): checked as Graph's
/// type says, and then ignored, as the service ignores it.
pub(super) fn windows_settings(value: &Value) -> Result<(), ApiError> {
    const NAME: &str = "windowsSettings";
    if value.is_null() {
        return Ok(());
    }
    let map = complex(NAME, value, "cloudPcWindowsSettings", &["language"])?;
    member_text(NAME, &map, "language").map(|_| ())
}

/// `microsoftManagedDesktop`: `managedType` (`notManaged` when not given) and `profile`.
pub(super) fn managed_desktop(
    value: &Value,
    version: ApiVersion,
    prefer: bool,
) -> Result<Option<Value>, ApiError> {
    const NAME: &str = "microsoftManagedDesktop";
    if value.is_null() {
        return Ok(None);
    }
    let map = complex(
        NAME,
        value,
        "microsoftManagedDesktop",
        &["managedType", "profile"],
    )?;
    let managed = enum_member::<ManagedDesktopType>(NAME, &map, "managedType", version, prefer)?
        .unwrap_or(ManagedDesktopType::NotManaged);
    let profile = member_text(NAME, &map, "profile")?;
    Ok(Some(
        json!({ "managedType": managed.wire(), "profile": profile }),
    ))
}

/// `cloudPcProvisioningPolicyAutopatch`: the Autopatch group, a GUID.
pub(super) fn autopatch(value: &Value) -> Result<Option<Value>, ApiError> {
    const NAME: &str = "autopatch";
    if value.is_null() {
        return Ok(None);
    }
    let map = complex(
        NAME,
        value,
        "cloudPcProvisioningPolicyAutopatch",
        &["autopatchGroupId"],
    )?;
    Ok(Some(
        json!({ "autopatchGroupId": member_guid(NAME, &map, "autopatchGroupId")? }),
    ))
}

/// One assignment of an `assign` body: its target's group and optional service plan, lower-case GUIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentTarget {
    pub group_id: String,
    pub service_plan_id: Option<String>,
}

/// The `assign` action's body: `{"assignments": [{"target": {"@odata.type":
/// "#microsoft.graph.cloudPcManagementGroupAssignmentTarget", "groupId": "…", "servicePlanId": "…"}}]}`; an empty
/// list removes every assignment. A group may be named once.
pub fn parse_assign(body: &JsonObject) -> Result<Vec<AssignmentTarget>, ApiError> {
    let mut assignments = None;
    for (name, value) in &body.0 {
        match name.as_str() {
            "assignments" => assignments = Some(value),
            other if other.contains('@') => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The parameter '{other}' is not in the parameter list of the action 'assign'."
                )))
            }
        }
    }
    let items = assignments
        .and_then(Value::as_array)
        .filter(|a| a.len() <= 100)
        .ok_or_else(|| {
            ApiError::invalid("assignments", "must be an array of at most 100 assignments")
        })?;
    let mut out: Vec<AssignmentTarget> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("assignments[{i}]");
        let map = complex(
            &path,
            item,
            "cloudPcProvisioningPolicyAssignment",
            &["id", "target"],
        )?;
        let tpath = format!("{path}.target");
        if map["target"].is_null() {
            return Err(ApiError::invalid(&tpath, "the target group is required"));
        }
        let target = complex(
            &tpath,
            &map["target"],
            "cloudPcManagementGroupAssignmentTarget",
            &["groupId", "servicePlanId"],
        )?;
        let group_id = member_guid(&tpath, &target, "groupId")?.ok_or_else(|| {
            ApiError::invalid(&format!("{tpath}.groupId"), "the group id is required")
        })?;
        if out.iter().any(|a| a.group_id == group_id) {
            return Err(ApiError::invalid(
                &format!("{tpath}.groupId"),
                "the group is assigned twice",
            ));
        }
        let service_plan_id = member_guid(&tpath, &target, "servicePlanId")?;
        out.push(AssignmentTarget {
            group_id,
            service_plan_id,
        });
    }
    Ok(out)
}
