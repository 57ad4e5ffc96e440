//! Compiles a parsed `$filter` ([`super::parser`]) to SQL, typed against an entity's [`QuerySchema`].
//!
//! Every comparison is two-valued, as OData's are (`not (x eq 'a')` is true where `x` is null): equality uses
//! SQLite's `IS`, and the other operators are guarded by `col IS NOT NULL`. Both forms can still use indexes.
//! Literals are always bound parameters.

use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::graph::enums::{EnumType, UNKNOWN_FUTURE_VALUE};
use crate::graph::ApiVersion;

use super::parser::{CmpOp, Expr, Func, Literal, Operand};
use super::schema::{Kind, Param, QuerySchema};

/// Most values in one `in (…)` list.
const MAX_IN: usize = 100;

/// What the compilation depends on besides the expression.
pub struct FilterCompiler {
    pub schema: &'static dyn QuerySchema,
    pub version: ApiVersion,
    pub include_unknown: bool,
    pub params: Vec<Param>,
}

fn bad(pos: usize, what: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("Invalid $filter at position {pos}: {what}"))
}

impl FilterCompiler {
    /// SQL for a whole expression.
    pub fn compile(&mut self, e: &Expr) -> Result<String, ApiError> {
        Ok(match e {
            Expr::Or(a, b) => format!("({} OR {})", self.compile(a)?, self.compile(b)?),
            Expr::And(a, b) => format!("({} AND {})", self.compile(a)?, self.compile(b)?),
            Expr::Not(a) => format!("(NOT {})", self.compile(a)?),
            Expr::Bool(b) => if *b { "1" } else { "0" }.into(),
            Expr::Compare {
                op,
                left,
                right,
                pos,
            } => match (left, right) {
                (Operand::Property { name, pos: p }, Operand::Literal { value, pos: lp }) => {
                    self.compare(name, *p, *op, value, *lp)?
                }
                (Operand::Literal { value, pos: lp }, Operand::Property { name, pos: p }) => {
                    self.compare(name, *p, op.flipped(), value, *lp)?
                }
                (Operand::Property { .. }, Operand::Property { .. }) => return Err(bad(
                    *pos,
                    "comparing two properties is not supported; compare a property with a literal.",
                )),
                (Operand::Literal { .. }, Operand::Literal { .. }) => {
                    return Err(bad(*pos, "a comparison needs a property on one side."))
                }
            },
            Expr::In { operand, list, pos } => self.in_list(operand, list, *pos)?,
            Expr::Call { func, args, pos } => self.call(*func, args, *pos)?,
        })
    }

    fn bind(&mut self, p: Param) -> &'static str {
        self.params.push(p);
        "?"
    }

    fn compare(
        &mut self,
        name: &str,
        pos: usize,
        op: CmpOp,
        lit: &Literal,
        lit_pos: usize,
    ) -> Result<String, ApiError> {
        let field = self
            .schema
            .resolve(name, self.version, "$filter", Some(pos))?;
        let (col, kind, pname) = (field.column, field.kind, field.name);
        if let Kind::Collection = kind {
            return Err(bad(
                pos,
                format!("filtering on the collection property '{pname}' is not supported."),
            ));
        }
        if *lit == Literal::Null {
            return Ok(match op {
                CmpOp::Eq => format!("{col} IS NULL"),
                CmpOp::Ne => format!("{col} IS NOT NULL"),
                // Nothing is greater or less than null.
                _ => "0".into(),
            });
        }
        if let Kind::Enum { stored, shown } = kind {
            return self.compare_enum(col, pname, stored, shown, op, lit, lit_pos);
        }
        let (collate, param) = self.value(kind, pname, lit, lit_pos)?;
        let ph = self.bind(param);
        Ok(match op {
            CmpOp::Eq => format!("{col} IS {ph}{collate}"),
            CmpOp::Ne => format!("{col} IS NOT {ph}{collate}"),
            _ => format!("({col} IS NOT NULL AND {col} {} {ph}{collate})", sql_op(op)),
        })
    }

    /// The bound value of a literal compared with a non-enum property, and the collation to compare with.
    fn value(
        &self,
        kind: Kind,
        pname: &str,
        lit: &Literal,
        pos: usize,
    ) -> Result<(&'static str, Param), ApiError> {
        let mismatch = |expected: &str| {
            bad(
                pos,
                format!(
                    "{} cannot be compared with '{pname}', which expects {expected}.",
                    lit.describe()
                ),
            )
        };
        Ok(match (kind, lit) {
            (Kind::Guid, Literal::String(s)) => ("", Param::Text(s.to_ascii_lowercase())),
            (Kind::Guid, _) => return Err(mismatch("a GUID in quotes")),
            (Kind::Text, Literal::String(s)) => (" COLLATE NOCASE", Param::Text(s.clone())),
            (Kind::Folded, Literal::String(s)) => ("", Param::Text(s.to_lowercase())),
            (Kind::Text | Kind::Folded, _) => return Err(mismatch("a string in quotes")),
            (Kind::Int, Literal::Int(n)) => ("", Param::Int(*n)),
            (Kind::Int, Literal::Decimal(f)) => ("", Param::Real(*f)),
            (Kind::Int, _) => return Err(mismatch("a number")),
            (Kind::Bool, Literal::Bool(b)) => ("", Param::Int(i64::from(*b))),
            (Kind::Bool, _) => return Err(mismatch("true or false")),
            (Kind::Date, Literal::Date(d)) => ("", Param::Text(d.format("%Y-%m-%d").to_string())),
            (Kind::Date, _) => return Err(mismatch("a date such as 2028-04-11 (without quotes)")),
            (Kind::DateTime, Literal::DateTime(t)) => ("", Param::Text(format_timestamp(*t))),
            (Kind::DateTime, _) => {
                return Err(mismatch(
                    "a date-time such as 2026-11-29T12:00:00Z (without quotes)",
                ))
            }
            (Kind::Collection | Kind::Enum { .. }, _) => {
                return Err(mismatch("a member of its enum"))
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn compare_enum(
        &mut self,
        col: &str,
        pname: &str,
        stored: &'static EnumType,
        shown: &'static EnumType,
        op: CmpOp,
        lit: &Literal,
        pos: usize,
    ) -> Result<String, ApiError> {
        let members = self.enum_members(pname, stored, shown, lit, pos)?;
        let in_list = |this: &mut Self| -> String {
            let phs: Vec<&str> = members
                .iter()
                .map(|m| this.bind(Param::Text((*m).to_owned())))
                .collect();
            phs.join(", ")
        };
        Ok(match (op, members.len()) {
            (CmpOp::Eq, 0) => "0".into(),
            (CmpOp::Ne, 0) => "1".into(),
            (CmpOp::Eq, 1) => format!("{col} IS {}", self.bind(Param::Text(members[0].to_owned()))),
            (CmpOp::Ne, 1) => format!(
                "{col} IS NOT {}",
                self.bind(Param::Text(members[0].to_owned()))
            ),
            (CmpOp::Eq, _) => format!("({col} IS NOT NULL AND {col} IN ({}))", in_list(self)),
            (CmpOp::Ne, _) => format!("({col} IS NULL OR {col} NOT IN ({}))", in_list(self)),
            _ => {
                return Err(bad(
                    pos,
                    format!("'{pname}' is an enum: only eq, ne and in compare it."),
                ));
            }
        })
    }

    /// The stored members a literal stands for: one member, or for `unknownFutureValue` every member this client
    /// sees as the sentinel (docs/fidelity.md#enums-and-evolvable-members: `eq unknownFutureValue` matches all the newer members).
    fn enum_members(
        &self,
        pname: &str,
        stored: &'static EnumType,
        shown: &'static EnumType,
        lit: &Literal,
        pos: usize,
    ) -> Result<Vec<&'static str>, ApiError> {
        let member = match lit {
            Literal::String(s) => s,
            Literal::Enum { type_name, member } => {
                let bare = type_name
                    .strip_prefix("microsoft.graph.")
                    .unwrap_or(type_name);
                if bare != shown.name {
                    return Err(bad(
                        pos,
                        format!(
                            "'{pname}' is of type microsoft.graph.{}, not {type_name}.",
                            shown.name
                        ),
                    ));
                }
                member
            }
            other => {
                return Err(bad(
                    pos,
                    format!(
                    "{} cannot be compared with '{pname}', which expects a member of {} in quotes.",
                    other.describe(),
                    shown.name
                ),
                ))
            }
        };
        if member.eq_ignore_ascii_case(UNKNOWN_FUTURE_VALUE) {
            return Ok(stored
                .members
                .iter()
                .map(|m| m.wire)
                .filter(|w| {
                    shown.project(w, self.version, self.include_unknown) == UNKNOWN_FUTURE_VALUE
                })
                .collect());
        }
        let wire = shown
            .parse(member, self.version, self.include_unknown)
            .map_err(|e| bad(pos, format!("{e}.")))?;
        Ok(vec![wire])
    }

    fn in_list(
        &mut self,
        operand: &Operand,
        list: &[Operand],
        pos: usize,
    ) -> Result<String, ApiError> {
        let Operand::Property { name, pos: ppos } = operand else {
            return Err(bad(
                operand.pos(),
                "the left side of 'in' must be a property.",
            ));
        };
        if list.len() > MAX_IN {
            return Err(bad(
                pos,
                format!("an 'in' list may hold at most {MAX_IN} values."),
            ));
        }
        let mut alternatives = Vec::with_capacity(list.len());
        for item in list {
            let Operand::Literal { value, pos: lpos } = item else {
                return Err(bad(item.pos(), "the values of 'in' must be literals."));
            };
            alternatives.push(self.compare(name, *ppos, CmpOp::Eq, value, *lpos)?);
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    fn call(&mut self, func: Func, args: &[Operand], pos: usize) -> Result<String, ApiError> {
        let usage = || {
            bad(
                pos,
                format!(
                    "{}(property, 'text') takes a string property and a string.",
                    func.name()
                ),
            )
        };
        let (
            Some(Operand::Property { name, pos: ppos }),
            Some(Operand::Literal {
                value: Literal::String(s),
                ..
            }),
        ) = (args.first(), args.get(1))
        else {
            return Err(usage());
        };
        let field = self
            .schema
            .resolve(name, self.version, "$filter", Some(*ppos))?;
        let (col, kind) = (field.column, field.kind);
        let text = match kind {
            Kind::Guid => s.to_ascii_lowercase(),
            Kind::Folded => s.to_lowercase(),
            Kind::Text => s.clone(),
            _ => return Err(usage()),
        };
        if let (Func::StartsWith, Kind::Folded) = (func, kind) {
            // A prefix of the case-folded name is a range of the index on display_name_key: no scan.
            let low = self.bind(Param::Text(text.clone()));
            let high = self.bind(Param::Text(format!("{text}\u{10FFFF}")));
            return Ok(format!("({col} >= {low} AND {col} < {high})"));
        }
        // LIKE with every wildcard of the literal escaped: `%` and `_` match only themselves.
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = match func {
            Func::StartsWith => format!("{escaped}%"),
            Func::EndsWith => format!("%{escaped}"),
            Func::Contains => format!("%{escaped}%"),
        };
        let ph = self.bind(Param::Text(pattern));
        Ok(format!(
            "({col} IS NOT NULL AND {col} LIKE {ph} ESCAPE '\\')"
        ))
    }
}

fn sql_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}
