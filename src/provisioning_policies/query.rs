//! The policy collection as the query layer sees it (columns and kinds from [`super::properties`]), and the SQL that
//! builds a policy's Graph JSON inside SQLite, with its assignments when `$expand=assignments` asks for them.

use super::domain::ENTITY_TYPE;
use super::properties::PolicyProperty;
use crate::error::ApiError;
use crate::graph::odata::schema::{Field, QuerySchema};
use crate::graph::resource::{json_object_sql, Described};
use crate::graph::ApiVersion;

/// The query schema of `provisioningPolicies`.
pub struct PolicySchema;

/// The one instance.
pub static PROVISIONING_POLICIES: PolicySchema = PolicySchema;

impl QuerySchema for PolicySchema {
    fn type_name(&self) -> &'static str {
        ENTITY_TYPE
    }

    fn table(&self) -> &'static str {
        "provisioning_policies"
    }

    fn scope_column(&self) -> Option<&'static str> {
        Some("tenant_id")
    }

    fn field(&self, name: &str, version: ApiVersion) -> Option<Field> {
        PolicyProperty::parse(name, version).map(PolicyProperty::field)
    }

    fn tie_breaker(&self) -> Field {
        PolicyProperty::Id.field()
    }
}

/// The `@odata.type` of an assignment's target.
const GROUP_TARGET: &str = "#microsoft.graph.cloudPcManagementGroupAssignmentTarget";

/// A policy's assignments as a JSON array, in the order `assign` gave them (`policy` is the SQL of its `seq`).
pub fn assignments_sql(policy: &str) -> String {
    format!(
        "(SELECT json_group_array(json(a)) FROM (SELECT json_object('id', id, 'target', json_object(\
         '@odata.type', '{GROUP_TARGET}', 'groupId', group_id, 'servicePlanId', service_plan_id)) AS a \
         FROM policy_assignments WHERE policy_seq = {policy} ORDER BY position))"
    )
}

/// The SQL of one policy's JSON for `version`: the selected properties, and `assignments` when expanded.
pub fn json_sql(
    version: ApiVersion,
    include_unknown: bool,
    select: Option<&[PolicyProperty]>,
    expand: bool,
) -> String {
    let object = json_object_sql::<PolicyProperty>(version, include_unknown, |p| {
        select.is_none_or(|s| s.contains(&p))
    });
    if !expand {
        return object;
    }
    let inner = object.strip_suffix(')').unwrap_or(&object);
    let separator = if inner.ends_with('(') { "" } else { ", " };
    format!(
        "{inner}{separator}'assignments', {})",
        assignments_sql("provisioning_policies.seq")
    )
}

/// Parses `$expand`: only `assignments` (Graph's one navigation property of a policy).
pub fn parse_expand(value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("assignments") => Ok(true),
        v => Err(ApiError::BadRequest(format!(
            "Could not find a navigation property named '{}' on type '{ENTITY_TYPE}' ($expand); a policy expands \
             'assignments'.",
            v.chars().take(100).collect::<String>()
        ))),
    }
}
