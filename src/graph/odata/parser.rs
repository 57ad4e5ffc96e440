//! The `$filter` language of docs/querying.md, parsed into an untyped expression tree. Typing against an entity and
//! compilation to SQL happen elsewhere ([`super::compile`]); this module knows only OData's grammar.
//! The file is long because the grammar, its lexer and their tests stay together; it is hand-written because no
//! crate parses OData's `$filter`:
//!
//! ```text
//! expr     := and ( 'or' and )*
//! and      := unary ( 'and' unary )*
//! unary    := 'not' unary | '(' expr ')' | call | 'true' | 'false' | operand op operand | operand 'in' '(' list ')'
//! call     := ('startswith' | 'endswith' | 'contains') '(' operand ',' operand ')'
//! operand  := property | 'text' | number | date | datetime | true | false | null | Namespace.Type'member'
//! op       := eq | ne | gt | ge | lt | le
//! ```
//!
//! Keywords and function names match case-insensitively. Every error names what was expected and the position (in
//! characters, from 1) where it went wrong.

use chrono::{DateTime, NaiveDate, Utc};

/// Longest `$filter` accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 4096;
/// Deepest nesting of parentheses and `not`.
const MAX_DEPTH: usize = 64;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 lt x` is `x gt 5`).
    pub fn flipped(self) -> Self {
        match self {
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            other => other,
        }
    }
}

/// A string function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    StartsWith,
    EndsWith,
    Contains,
}

impl Func {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "startswith" => Self::StartsWith,
            "endswith" => Self::EndsWith,
            "contains" => Self::Contains,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
            Self::Contains => "contains",
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Int(i64),
    Decimal(f64),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// `Namespace.Type'member'`.
    Enum {
        type_name: String,
        member: String,
    },
}

impl Literal {
    /// How the literal is described in error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::String(s) => format!("the string '{s}'"),
            Self::Int(n) => format!("the number {n}"),
            Self::Decimal(n) => format!("the number {n}"),
            Self::Bool(b) => format!("the boolean {b}"),
            Self::Null => "null".into(),
            Self::Date(d) => format!("the date {d}"),
            Self::DateTime(t) => format!("the date-time {}", t.to_rfc3339()),
            Self::Enum { type_name, member } => format!("the enum value {type_name}'{member}'"),
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Property { name: String, pos: usize },
    Literal { value: Literal, pos: usize },
}

impl Operand {
    pub fn pos(&self) -> usize {
        match self {
            Self::Property { pos, .. } | Self::Literal { pos, .. } => *pos,
        }
    }
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        op: CmpOp,
        left: Operand,
        right: Operand,
        pos: usize,
    },
    In {
        operand: Operand,
        list: Vec<Operand>,
        pos: usize,
    },
    Call {
        func: Func,
        args: Vec<Operand>,
        pos: usize,
    },
    Bool(bool),
}

/// Parses a whole `$filter` value.
pub fn parse(input: &str) -> Result<Expr, String> {
    if input.chars().count() > MAX_FILTER_CHARS {
        return Err(format!(
            "The $filter is longer than {MAX_FILTER_CHARS} characters."
        ));
    }
    let tokens = lex(input)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        end: input.chars().count() + 1,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(t) => Err(parser.unexpected(t, "'and', 'or' or the end of the expression")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Word(String),
    Lit(Literal),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Lit(l) => l.describe(),
    }
}

/// Splits a `$filter` into tokens. It is long because it is one pass over the characters, a match arm per token
/// kind, which reads best whole.
fn lex(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '\'' => {
                let (s, next) = string_literal(&chars, i)?;
                tokens.push(Token {
                    tok: Tok::Lit(Literal::String(s)),
                    pos,
                });
                i = next;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let end = (i + 1..chars.len())
                    .find(|&j| {
                        !(chars[j].is_ascii_alphanumeric()
                            || matches!(chars[j], '.' | ':' | '-' | '+'))
                    })
                    .unwrap_or(chars.len());
                let raw: String = chars[i..end].iter().collect();
                tokens.push(Token {
                    tok: Tok::Lit(number_or_date(&raw, pos)?),
                    pos,
                });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = (i + 1..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || matches!(chars[j], '_' | '.')))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                if chars.get(end) == Some(&'\'') {
                    let (member, next) = string_literal(&chars, end)?;
                    let lit = Literal::Enum {
                        type_name: word,
                        member,
                    };
                    tokens.push(Token {
                        tok: Tok::Lit(lit),
                        pos,
                    });
                    i = next;
                    continue;
                }
                i = end;
                tokens.push(Token {
                    tok: word_token(word),
                    pos,
                });
                continue;
            }
            other => {
                return Err(format!(
                    "Syntax error in $filter at position {pos}: unexpected character '{other}'."
                ))
            }
        };
        tokens.push(Token { tok, pos });
        i += 1;
    }
    Ok(tokens)
}

fn word_token(word: String) -> Tok {
    match word.to_ascii_lowercase().as_str() {
        "true" => Tok::Lit(Literal::Bool(true)),
        "false" => Tok::Lit(Literal::Bool(false)),
        "null" => Tok::Lit(Literal::Null),
        _ => Tok::Word(word),
    }
}

/// A `'…'` literal starting at `start`, with `''` standing for one quote; returns it and the index after it.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(format!(
                    "Syntax error in $filter at position {}: the string that starts here has no closing quote.",
                    start + 1
                ))
            }
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(c) => {
                s.push(*c);
                i += 1;
            }
        }
    }
}

fn number_or_date(raw: &str, pos: usize) -> Result<Literal, String> {
    if let Ok(n) = raw.parse::<i64>() {
        return Ok(Literal::Int(n));
    }
    if raw.len() == 10 {
        if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            return Ok(Literal::Date(d));
        }
    }
    if raw.len() > 10 && raw.as_bytes()[10] == b'T' {
        return DateTime::parse_from_rfc3339(raw)
            .map(|t| Literal::DateTime(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "Syntax error in $filter at position {pos}: '{raw}' is not a valid date-time \
                     (expected e.g. 2026-11-29T12:00:00Z)."
                )
            });
    }
    if !raw.contains(['-', ':', '+']) || raw.contains(['e', 'E']) {
        if let Ok(f) = raw.parse::<f64>() {
            if f.is_finite() {
                return Ok(Literal::Decimal(f));
            }
        }
    }
    Err(format!("Syntax error in $filter at position {pos}: '{raw}' is not a valid number, date or date-time."))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self, expected: &str) -> Result<Token, String> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t.ok_or_else(|| {
            format!("Syntax error in $filter at position {}: expected {expected}, but the expression ended.", self.end)
        })
    }

    fn unexpected(&self, t: &Token, expected: &str) -> String {
        format!(
            "Syntax error in $filter at position {}: expected {expected}, found {}.",
            t.pos,
            describe(&t.tok)
        )
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<(), String> {
        let t = self.next(expected)?;
        if t.tok == tok {
            Ok(())
        } else {
            Err(self.unexpected(&t, expected))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.is_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("The $filter nests deeper than {MAX_DEPTH} levels."));
        }
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        const START: &str = "a property, a literal, '(', 'not' or a function";
        if self.is_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        let t = self.next(START)?;
        match &t.tok {
            Tok::LParen => {
                let inner = self.or()?;
                self.expect(
                    Tok::RParen,
                    &format!("')' to close the '(' at position {}", t.pos),
                )?;
                Ok(inner)
            }
            Tok::Word(w) if matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) => {
                let func = Func::parse(w).ok_or_else(|| {
                    format!(
                        "The function '{w}' at position {} is not supported; use startswith, endswith or contains.",
                        t.pos
                    )
                })?;
                self.at += 1;
                let first = self.operand()?;
                self.expect(Tok::Comma, "',' between the function's arguments")?;
                let second = self.operand()?;
                self.expect(Tok::RParen, &format!("')' to close {}(", func.name()))?;
                Ok(Expr::Call {
                    func,
                    args: vec![first, second],
                    pos: t.pos,
                })
            }
            Tok::Lit(Literal::Bool(b)) if !self.next_is_operator() => Ok(Expr::Bool(*b)),
            Tok::Word(_) | Tok::Lit(_) => {
                self.at -= 1;
                self.comparison()
            }
            _ => Err(self.unexpected(&t, START)),
        }
    }

    fn next_is_operator(&self) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if CmpOp::parse(w).is_some() || w.eq_ignore_ascii_case("in"))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let t = self.next("a property or a literal")?;
        match t.tok {
            Tok::Word(name) if !is_keyword(&name) => Ok(Operand::Property { name, pos: t.pos }),
            Tok::Lit(value) => Ok(Operand::Literal { value, pos: t.pos }),
            _ => Err(self.unexpected(&t, "a property or a literal")),
        }
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.operand()?;
        let t = self.next("a comparison operator (eq, ne, gt, ge, lt, le) or 'in'")?;
        let word = match &t.tok {
            Tok::Word(w) => w.clone(),
            _ => {
                return Err(
                    self.unexpected(&t, "a comparison operator (eq, ne, gt, ge, lt, le) or 'in'")
                )
            }
        };
        if word.eq_ignore_ascii_case("in") {
            self.expect(Tok::LParen, "'(' to open the list of 'in'")?;
            let mut list = vec![self.operand()?];
            loop {
                let sep = self.next("',' or ')'")?;
                match sep.tok {
                    Tok::Comma => list.push(self.operand()?),
                    Tok::RParen => break,
                    _ => return Err(self.unexpected(&sep, "',' or ')'")),
                }
            }
            return Ok(Expr::In {
                operand: left,
                list,
                pos: t.pos,
            });
        }
        let op = CmpOp::parse(&word).ok_or_else(|| {
            self.unexpected(&t, "a comparison operator (eq, ne, gt, ge, lt, le) or 'in'")
        })?;
        let right = self.operand()?;
        Ok(Expr::Compare {
            op,
            left,
            right,
            pos: t.pos,
        })
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str, pos: usize) -> Operand {
        Operand::Property {
            name: name.into(),
            pos,
        }
    }

    fn lit(value: Literal, pos: usize) -> Operand {
        Operand::Literal { value, pos }
    }

    #[test]
    fn precedence_and_shapes() {
        let e = parse("a eq 'x' or b eq 1 and not c eq null").unwrap();
        let Expr::Or(left, right) = e else {
            panic!("or at the top")
        };
        assert_eq!(
            *left,
            Expr::Compare {
                op: CmpOp::Eq,
                left: prop("a", 1),
                right: lit(Literal::String("x".into()), 6),
                pos: 3
            }
        );
        assert!(matches!(*right, Expr::And(_, ref r) if matches!(**r, Expr::Not(_))));
        assert!(matches!(parse("(a eq 1)").unwrap(), Expr::Compare { .. }));
        assert!(matches!(
            parse("STARTSWITH(a,'x')").unwrap(),
            Expr::Call {
                func: Func::StartsWith,
                ..
            }
        ));
        assert!(
            matches!(parse("a in ('x', 'y')").unwrap(), Expr::In { ref list, .. } if list.len() == 2)
        );
        assert_eq!(parse("true").unwrap(), Expr::Bool(true));
    }

    #[test]
    fn literals() {
        let rhs = |f: &str| match parse(f).unwrap() {
            Expr::Compare {
                right: Operand::Literal { value, .. },
                ..
            } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(rhs("a eq 'it''s'"), Literal::String("it's".into()));
        assert_eq!(rhs("a eq -5"), Literal::Int(-5));
        assert_eq!(rhs("a eq 1.5"), Literal::Decimal(1.5));
        assert_eq!(
            rhs("a eq 2026-11-29"),
            Literal::Date(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap())
        );
        assert!(
            matches!(rhs("a eq 2026-11-29T12:00:00+01:00"), Literal::DateTime(t) if t.to_rfc3339() == "2026-11-29T11:00:00+00:00")
        );
        assert_eq!(
            rhs("a eq microsoft.graph.cloudPcDeviceImageStatus'ready'"),
            Literal::Enum {
                type_name: "microsoft.graph.cloudPcDeviceImageStatus".into(),
                member: "ready".into()
            }
        );
        assert_eq!(rhs("a eq NULL"), Literal::Null);
    }

    #[test]
    fn errors_name_what_was_expected_and_where() {
        let cases = [
            ("(a eq 1", "position 1"),
            ("a eq 1)", "position 7"),
            ("a eq", "expected a property or a literal"),
            ("a eq 'x", "no closing quote"),
            ("a xx 1", "position 3"),
            ("a eq 1 garbage", "position 8"),
            ("a eq 1 and", "ended"),
            ("a eq 2026-13-45", "position 6"),
            ("a eq 1 ; drop", "unexpected character ';'"),
            ("startswith(a 'x')", "','"),
            ("a in ('x' 'y')", "',' or ')'"),
            ("", "ended"),
            (
                "tolower(a) eq 'x'",
                "'tolower' at position 1 is not supported",
            ),
        ];
        for (input, expected) in cases {
            let err = parse(input).expect_err(input);
            assert!(err.contains(expected), "{input}: {err}");
        }
        assert!(parse(&"(".repeat(100)).unwrap_err().contains("deeper"));
        assert!(parse(&"a".repeat(5000)).is_err());
    }
}
