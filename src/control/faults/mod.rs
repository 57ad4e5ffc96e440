//! Fault rules (`fault_rules`): make matching Graph requests fail with a Graph error, slow down, or be throttled, the
//! way Microsoft Dev Proxy does for Graph, but durable and reproducible. The active rules live in memory (written
//! through to the table, so they survive a restart); random draws come from a generator seeded by `--fault-seed`
//! and the rule's id, so a run with a fixed seed repeats exactly.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use serde::Serialize;
use sqlx::Row;

use crate::db::Database;
use crate::error::ApiError;

mod parse;

pub use parse::parse_rule;

/// Most rules that may exist at once.
pub const MAX_RULES: i64 = 1000;
/// Most latency the rules may add to one request, however many match.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// What a rule does to a request it fires on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    #[serde(rename_all = "camelCase")]
    Error {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<u64>,
    },
    #[serde(rename_all = "camelCase")]
    Latency { latency_ms: u64 },
    #[serde(rename_all = "camelCase")]
    Throttle { limit: u32, window_seconds: u64 },
}

/// A stored rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub id: i64,
    pub created: String,
    pub method: Option<String>,
    pub path: String,
    pub api_version: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    pub probability: f64,
    /// Firings left before the rule expires; `None`: no limit.
    pub remaining: Option<i64>,
}

/// A rule with its running state.
struct Active {
    rule: FaultRule,
    rng: u64,
    /// Throttle: when the current window began and how many requests it has seen.
    window: Option<(Instant, u32)>,
}

/// What the matching rules decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Added latency.
    pub delay: Duration,
    /// The answer instead of the real one, and the rule that gave it.
    pub answer: Option<(i64, ApiError)>,
    /// The id of a latency rule that fired (when no rule answered).
    pub delayed_by: Option<i64>,
    /// Rules whose last firing this was (to delete).
    pub expired: Vec<i64>,
    /// Rules that fired and have a count (to write their new count).
    pub counted: Vec<(i64, i64)>,
}

/// The active rules.
pub struct Faults {
    seed: u64,
    active: Mutex<Vec<Active>>,
}

impl Faults {
    /// Loads the stored rules.
    pub async fn load(db: &Database, seed: u64) -> Result<Self, sqlx::Error> {
        let rows = super::store::fault_rule_rows(db).await?;
        let mut active = Vec::new();
        for row in &rows {
            match rule_from_row(row) {
                Ok(rule) => active.push(Active {
                    rng: rng_seed(seed, rule.id),
                    rule,
                    window: None,
                }),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable fault rule"),
            }
        }
        Ok(Self {
            seed,
            active: Mutex::new(active),
        })
    }

    /// The rules that match a Graph request decide what happens to it.
    pub fn decide(&self, method: &str, path: &str, version: Option<&str>) -> Decision {
        let mut decision = Decision::default();
        let Ok(mut active) = self.active.lock() else {
            return decision;
        };
        for a in active.iter_mut() {
            if decision.answer.is_some() || !matches(&a.rule, method, path, version) {
                continue;
            }
            let fired = match &a.rule.action {
                Action::Throttle {
                    limit,
                    window_seconds,
                } => throttle(a, *limit, *window_seconds, &mut decision),
                _ if !draw(&mut a.rng, a.rule.probability) => false,
                Action::Latency { latency_ms } => {
                    decision.delay =
                        (decision.delay + Duration::from_millis(*latency_ms)).min(MAX_DELAY);
                    decision.delayed_by = Some(a.rule.id);
                    true
                }
                Action::Error {
                    status,
                    code,
                    message,
                    retry_after,
                } => {
                    let status =
                        StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let error = ApiError::Fault {
                        status,
                        code: code.clone(),
                        message: message.clone(),
                        retry_after: *retry_after,
                    };
                    decision.answer = Some((a.rule.id, error));
                    true
                }
            };
            if let (true, Some(left)) = (fired, a.rule.remaining.as_mut()) {
                *left -= 1;
                if *left <= 0 {
                    decision.expired.push(a.rule.id);
                } else {
                    decision.counted.push((a.rule.id, *left));
                }
            }
        }
        active.retain(|a| !decision.expired.contains(&a.rule.id));
        decision
    }

    /// Writes the counts a decision changed (a rule's last firing deletes it).
    pub async fn persist(&self, db: &Database, decision: &Decision) -> Result<(), sqlx::Error> {
        if decision.expired.is_empty() && decision.counted.is_empty() {
            return Ok(());
        }
        super::store::write_fault_counts(db, &decision.expired, &decision.counted).await
    }

    /// The active rules, in order.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.active
            .lock()
            .map(|a| a.iter().map(|a| a.rule.clone()).collect())
            .unwrap_or_default()
    }

    pub fn add(&self, rule: FaultRule) {
        if let Ok(mut active) = self.active.lock() {
            active.push(Active {
                rng: rng_seed(self.seed, rule.id),
                rule,
                window: None,
            });
        }
    }

    pub fn remove(&self, id: Option<i64>) {
        if let Ok(mut active) = self.active.lock() {
            active.retain(|a| id.is_some_and(|id| a.rule.id != id));
        }
    }

    /// Forgets every rule (reset).
    pub fn clear(&self) {
        self.remove(None);
    }

    /// Takes the stored rules as the active ones (after an import wrote them); a rule that was active keeps its
    /// running state.
    pub async fn reload(&self, db: &Database) -> Result<(), sqlx::Error> {
        let fresh = Self::load(db, self.seed).await?;
        let mut loaded = fresh.active.into_inner().unwrap_or_default();
        if let Ok(mut active) = self.active.lock() {
            for a in &mut loaded {
                if let Some(old) = active.iter().find(|old| old.rule.id == a.rule.id) {
                    a.rng = old.rng;
                    a.window = old.window;
                }
            }
            *active = loaded;
        }
        Ok(())
    }
}

/// A throttle rule lets `limit` requests through per window, then answers 429 until the window ends.
fn throttle(a: &mut Active, limit: u32, window_seconds: u64, decision: &mut Decision) -> bool {
    let now = Instant::now();
    let window = Duration::from_secs(window_seconds);
    let (start, seen) = match a.window {
        Some((start, seen)) if now.duration_since(start) < window => (start, seen),
        _ => (now, 0),
    };
    a.window = Some((start, seen + 1));
    if seen < limit {
        return false;
    }
    let wait = window
        .saturating_sub(now.duration_since(start))
        .as_secs_f64()
        .ceil()
        .max(1.0) as u64;
    let error = ApiError::Fault {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "TooManyRequests".into(),
        message: format!(
            "Too many requests: at most {limit} per {window_seconds} s. Retry after {wait} s."
        ),
        retry_after: Some(wait),
    };
    decision.answer = Some((a.rule.id, error));
    true
}

fn matches(rule: &FaultRule, method: &str, path: &str, version: Option<&str>) -> bool {
    rule.method
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case(method))
        && rule
            .api_version
            .as_deref()
            .is_none_or(|v| Some(v) == version)
        && glob(&rule.path.to_ascii_lowercase(), &path.to_ascii_lowercase())
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// splitmix64: small, fast and the same everywhere, so a seed reproduces a run.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rng_seed(seed: u64, rule_id: i64) -> u64 {
    let mut s = seed ^ (rule_id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    next(&mut s)
}

fn draw(state: &mut u64, probability: f64) -> bool {
    if probability >= 1.0 {
        return true;
    }
    ((next(state) >> 11) as f64 / (1u64 << 53) as f64) < probability
}

fn rule_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<FaultRule, sqlx::Error> {
    let action: String = row.try_get("action")?;
    let action = match action.as_str() {
        "error" => Action::Error {
            status: row.try_get::<i64, _>("status")? as u16,
            code: row.try_get("error_code")?,
            message: row.try_get("message")?,
            retry_after: row
                .try_get::<Option<i64>, _>("retry_after")?
                .map(|n| n as u64),
        },
        "latency" => Action::Latency {
            latency_ms: row.try_get::<i64, _>("latency_ms")? as u64,
        },
        _ => Action::Throttle {
            limit: row.try_get::<i64, _>("throttle_limit")? as u32,
            window_seconds: row.try_get::<i64, _>("throttle_window_s")? as u64,
        },
    };
    Ok(FaultRule {
        id: row.try_get("id")?,
        created: row.try_get("created")?,
        method: row.try_get("method")?,
        path: row.try_get("path_pattern")?,
        api_version: row.try_get("api_version")?,
        action,
        probability: row.try_get("probability")?,
        remaining: row.try_get("remaining")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "/beta/x"));
        assert!(glob(
            "*/deviceimages*",
            "/beta/devicemanagement/virtualendpoint/deviceimages/1"
        ));
        assert!(glob(
            "/beta/*/deviceimages",
            "/beta/devicemanagement/virtualendpoint/deviceimages"
        ));
        assert!(!glob("/v1.0/*", "/beta/x"));
        assert!(!glob("/beta", "/beta/x"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxcyyb"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn matching_latency_rules_add_a_minute_at_most() {
        let faults = Faults {
            seed: 1,
            active: Mutex::new(Vec::new()),
        };
        for id in 1..=3 {
            faults.add(FaultRule {
                id,
                created: String::new(),
                method: None,
                path: "*".into(),
                api_version: None,
                action: Action::Latency { latency_ms: 60_000 },
                probability: 1.0,
                remaining: None,
            });
        }
        let decision = faults.decide("GET", "/beta/x", Some("beta"));
        assert_eq!(decision.delay, MAX_DELAY);
        assert!(decision.answer.is_none());
    }

    #[test]
    fn draws_repeat_for_a_seed() {
        let run = |seed| {
            let mut s = rng_seed(seed, 1);
            (0..64).map(|_| draw(&mut s, 0.5)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        // The rule's id is the other half of the seed: two rules under one seed draw differently.
        let rule = |id| {
            let mut s = rng_seed(7, id);
            (0..64).map(|_| draw(&mut s, 0.5)).collect::<Vec<_>>()
        };
        assert_eq!(rule(1), run(7));
        assert_ne!(rule(1), rule(2));
        assert_eq!(rule(2), rule(2));
        let hits = run(7).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }
}
