//! A small model-formula language in the style of patsy/statsmodels, e.g.
//! `score ~ accuracy + C(pretrain, Treatment('scratch')) * pretrained_layers`.
//!
//! Supported: `+`, `-` (drop a term, `- 1` drops the intercept), `*` (main effects and
//! interaction), `:` (interaction), parentheses, `0`/`1`, numeric variables, and categorical
//! factors — string columns, or `C(var)` / `C(var, Treatment('level'))` /
//! `C(var, Treatment(reference='level'))` — with treatment (dummy) coding.
//!
//! The design matrix follows patsy: terms are grouped by the set of numeric factors they
//! contain (the group without numeric factors first), sorted by interaction order within a
//! group; levels are sorted; columns are named like `C(a, Treatment('x'))[T.y]:z`; in an
//! interaction the left-most factor varies fastest. Categorical factors get reduced
//! (treatment) coding when all their marginal terms are present; a single categorical
//! factor without its marginal (e.g. no intercept) gets full coding. Other non-hierarchical
//! formulas are rejected with a message.

use crate::linalg::Matrix;
use mrixai_core::{Error, Result};
use std::collections::BTreeSet;
use std::ops::Range;

/// One column of a [`Frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers (may be used as categorical through `C(...)`).
    Numeric(Vec<f64>),
    /// Category labels (always categorical).
    Categorical(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical(v) => v.len(),
        }
    }
}

/// Named columns of equal length: the data a formula is evaluated on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    columns: Vec<(String, Column)>,
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a numeric column.
    pub fn with_numeric(mut self, name: &str, values: Vec<f64>) -> Self {
        self.set(name, Column::Numeric(values));
        self
    }

    /// Adds (or replaces) a categorical column.
    pub fn with_categorical(mut self, name: &str, values: Vec<String>) -> Self {
        self.set(name, Column::Categorical(values));
        self
    }

    /// Sets column `name`.
    pub fn set(&mut self, name: &str, column: Column) {
        if let Some(slot) = self.columns.iter_mut().find(|(n, _)| n == name) {
            slot.1 = column;
        } else {
            self.columns.push((name.to_string(), column));
        }
    }

    /// The column `name`, or an error listing the columns there are.
    pub fn get(&self, name: &str) -> Result<&Column> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                let have: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
                Error::invalid(format!(
                    "formula variable `{name}` is not a column (have: {have:?})"
                ))
            })
    }

    /// Number of rows (0 for an empty frame); fails if the columns differ in length.
    pub fn rows(&self) -> Result<usize> {
        let n = self.columns.first().map_or(0, |(_, c)| c.len());
        if let Some((name, c)) = self.columns.iter().find(|(_, c)| c.len() != n) {
            return Err(Error::invalid(format!(
                "column `{name}` has {} rows, expected {n}",
                c.len()
            )));
        }
        Ok(n)
    }
}

/// One factor of a term: a variable, numeric or categorical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Factor {
    /// The column it reads.
    pub var: String,
    /// Written as `C(...)`.
    pub explicit_categorical: bool,
    /// Reference level from `Treatment(...)`.
    pub reference: Option<String>,
    /// How it is named in column names (patsy spelling).
    pub label: String,
}

/// A term: the product of its factors (no factors = the intercept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Factors in the order written.
    pub factors: Vec<Factor>,
}

impl Term {
    fn key(&self) -> BTreeSet<String> {
        self.factors.iter().map(|f| f.label.clone()).collect()
    }

    /// The term's name: factor labels joined by `:` (`Intercept` when empty).
    pub fn name(&self) -> String {
        if self.factors.is_empty() {
            "Intercept".to_string()
        } else {
            self.factors
                .iter()
                .map(|f| f.label.as_str())
                .collect::<Vec<_>>()
                .join(":")
        }
    }
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    /// The response variable (left of `~`).
    pub response: String,
    /// Whether the model has an intercept.
    pub intercept: bool,
    /// Right-hand-side terms in the order written (intercept excluded).
    pub terms: Vec<Term>,
}

impl Formula {
    /// Every variable the formula reads: the response, then each factor's column once.
    pub fn variables(&self) -> Vec<String> {
        let mut out = vec![self.response.clone()];
        for f in self.terms.iter().flat_map(|t| &t.factors) {
            if !out.contains(&f.var) {
                out.push(f.var.clone());
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Sym(char),
}

fn tokenize(s: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let st = i;
            while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_' || cs[i] == '.') {
                i += 1;
            }
            out.push(Tok::Ident(cs[st..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let st = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let t: String = cs[st..i].iter().collect();
            let v = t
                .parse()
                .map_err(|_| Error::invalid(format!("formula: bad number `{t}` in `{s}`")))?;
            out.push(Tok::Num(v));
        } else if c == '\'' || c == '"' {
            let st = i + 1;
            i += 1;
            while i < cs.len() && cs[i] != c {
                i += 1;
            }
            if i >= cs.len() {
                return Err(Error::invalid(format!(
                    "formula: unterminated string in `{s}`"
                )));
            }
            out.push(Tok::Str(cs[st..i].iter().collect()));
            i += 1;
        } else if "~+-*:(),=".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            return Err(Error::invalid(format!(
                "formula: unexpected character `{c}` in `{s}`"
            )));
        }
    }
    Ok(out)
}

enum Node {
    Num(f64),
    Terms(Vec<Term>),
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

fn push_unique(terms: &mut Vec<Term>, t: Term) {
    if !terms.iter().any(|u| u.key() == t.key()) {
        terms.push(t);
    }
}

fn interact(a: &[Term], b: &[Term]) -> Vec<Term> {
    let mut out = Vec::new();
    for ta in a {
        for tb in b {
            let mut factors = ta.factors.clone();
            for f in &tb.factors {
                if !factors.iter().any(|g| g.label == f.label) {
                    factors.push(f.clone());
                }
            }
            push_unique(&mut out, Term { factors });
        }
    }
    out
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> Error {
        Error::invalid(format!("formula `{}`: {msg}", self.src))
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    /// sum := ['-'] prod (('+'|'-') prod)*; returns terms and intercept.
    fn sum(&mut self, intercept: &mut bool) -> Result<Vec<Term>> {
        let mut terms = Vec::new();
        let mut sign = if self.eat('-') { '-' } else { '+' };
        loop {
            let node = self.prod()?;
            match (sign, node) {
                ('+', Node::Num(1.0)) => *intercept = true,
                ('+', Node::Num(0.0)) => *intercept = false,
                ('-', Node::Num(1.0)) => *intercept = false,
                ('-', Node::Num(0.0)) => *intercept = true,
                (_, Node::Num(v)) => return Err(self.err(&format!("unexpected number {v}"))),
                ('+', Node::Terms(ts)) => ts.into_iter().for_each(|t| push_unique(&mut terms, t)),
                (_, Node::Terms(ts)) => {
                    for t in ts {
                        terms.retain(|u| u.key() != t.key());
                    }
                }
            }
            if self.eat('+') {
                sign = '+';
            } else if self.eat('-') {
                sign = '-';
            } else {
                return Ok(terms);
            }
        }
    }

    fn prod(&mut self) -> Result<Node> {
        let mut left = self.inter()?;
        while self.eat('*') {
            let right = self.inter()?;
            let (Node::Terms(a), Node::Terms(b)) = (left, right) else {
                return Err(self.err("numbers cannot be multiplied in a formula"));
            };
            let mut all = a.clone();
            b.iter().cloned().for_each(|t| push_unique(&mut all, t));
            interact(&a, &b)
                .into_iter()
                .for_each(|t| push_unique(&mut all, t));
            left = Node::Terms(all);
        }
        Ok(left)
    }

    fn inter(&mut self) -> Result<Node> {
        let mut left = self.atom()?;
        while self.eat(':') {
            let right = self.atom()?;
            let (Node::Terms(a), Node::Terms(b)) = (left, right) else {
                return Err(self.err("numbers cannot take part in an interaction"));
            };
            left = Node::Terms(interact(&a, &b));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Node> {
        match self.peek().cloned() {
            Some(Tok::Sym('(')) => {
                self.pos += 1;
                let mut icpt = true;
                let terms = self.sum(&mut icpt)?;
                self.expect(')')?;
                Ok(Node::Terms(terms))
            }
            Some(Tok::Num(v)) => {
                self.pos += 1;
                Ok(Node::Num(v))
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if name == "C" && self.eat('(') {
                    let f = self.categorical()?;
                    return Ok(Node::Terms(vec![Term { factors: vec![f] }]));
                }
                let f = Factor {
                    var: name.clone(),
                    explicit_categorical: false,
                    reference: None,
                    label: name,
                };
                Ok(Node::Terms(vec![Term { factors: vec![f] }]))
            }
            _ => Err(self.err("expected a variable, `C(...)`, a number or `(`")),
        }
    }

    /// After `C(`: `var [, Treatment([reference=]'level')]` `)`.
    fn categorical(&mut self) -> Result<Factor> {
        let Some(Tok::Ident(var)) = self.peek().cloned() else {
            return Err(self.err("`C(` must be followed by a variable name"));
        };
        self.pos += 1;
        let mut reference = None;
        let mut label = format!("C({var})");
        if self.eat(',') {
            match self.peek().cloned() {
                Some(Tok::Ident(t)) if t == "Treatment" => self.pos += 1,
                _ => return Err(self.err("only `Treatment(...)` contrasts are supported")),
            }
            self.expect('(')?;
            let mut named = false;
            if let Some(Tok::Ident(k)) = self.peek().cloned() {
                if k != "reference" {
                    return Err(self.err(&format!("unknown Treatment argument `{k}`")));
                }
                self.pos += 1;
                self.expect('=')?;
                named = true;
            }
            let level = match self.peek().cloned() {
                Some(Tok::Str(s)) => s,
                Some(Tok::Num(v)) => format_level(v),
                _ => return Err(self.err("Treatment needs a reference level")),
            };
            self.pos += 1;
            self.expect(')')?;
            label = if named {
                format!("C({var}, Treatment(reference='{level}'))")
            } else {
                format!("C({var}, Treatment('{level}'))")
            };
            reference = Some(level);
        }
        self.expect(')')?;
        Ok(Factor {
            var,
            explicit_categorical: true,
            reference,
            label,
        })
    }
}

fn format_level(v: f64) -> String {
    format!("{v}")
}

/// Parses `response ~ rhs`.
pub fn parse(formula: &str) -> Result<Formula> {
    let toks = tokenize(formula)?;
    let mut p = Parser {
        toks,
        pos: 0,
        src: formula,
    };
    let response = match p.peek().cloned() {
        Some(Tok::Ident(r)) => r,
        _ => return Err(p.err("must start with the response variable")),
    };
    p.pos += 1;
    p.expect('~')?;
    let mut intercept = true;
    let terms = p.sum(&mut intercept)?;
    if p.pos != p.toks.len() {
        return Err(p.err("unexpected text after the formula"));
    }
    Ok(Formula {
        response,
        intercept,
        terms,
    })
}

/// A term of a design matrix and the columns it occupies.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignTerm {
    /// Term name (`Intercept`, `accuracy`, `C(a):x`, …).
    pub name: String,
    /// Labels of its factors (empty for the intercept).
    pub factors: BTreeSet<String>,
    /// Its columns in the design matrix.
    pub columns: Range<usize>,
}

/// A design matrix built from a formula and a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Response name.
    pub response: String,
    /// Response values.
    pub y: Vec<f64>,
    /// Design matrix.
    pub x: Matrix,
    /// Column names (patsy spelling).
    pub column_names: Vec<String>,
    /// Terms in design order.
    pub terms: Vec<DesignTerm>,
    /// Whether there is an intercept column.
    pub intercept: bool,
}

enum Coding {
    Numeric,
    Reduced,
    Full,
}

struct Levels {
    names: Vec<String>,
    codes: Vec<usize>,
    reference: usize,
}

fn levels_of(frame: &Frame, f: &Factor) -> Result<Levels> {
    let (names, codes) = match frame.get(&f.var)? {
        Column::Categorical(v) => {
            let set: BTreeSet<&String> = v.iter().collect();
            let names: Vec<String> = set.into_iter().cloned().collect();
            let codes = v
                .iter()
                .map(|s| names.binary_search(s).unwrap_or(0))
                .collect();
            (names, codes)
        }
        Column::Numeric(v) => {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid(format!(
                    "factor `{}` has NaN or infinite values",
                    f.var
                )));
            }
            let mut u = v.clone();
            u.sort_by(f64::total_cmp);
            u.dedup();
            let codes = v
                .iter()
                .map(|x| u.iter().position(|y| y == x).unwrap_or(0))
                .collect();
            (u.into_iter().map(format_level).collect(), codes)
        }
    };
    if names.len() < 2 {
        return Err(Error::invalid(format!(
            "factor `{}` has a single level ({:?}): its effect cannot be estimated",
            f.label, names
        )));
    }
    let reference = match &f.reference {
        None => 0,
        Some(r) => names.iter().position(|n| n == r).ok_or_else(|| {
            Error::invalid(format!(
                "factor `{}`: reference level `{r}` is not among its levels {names:?}",
                f.label
            ))
        })?,
    };
    Ok(Levels {
        names,
        codes,
        reference,
    })
}

fn is_categorical(frame: &Frame, f: &Factor) -> Result<bool> {
    Ok(f.explicit_categorical || matches!(frame.get(&f.var)?, Column::Categorical(_)))
}

fn numeric_values(frame: &Frame, var: &str) -> Result<Vec<f64>> {
    match frame.get(var)? {
        Column::Numeric(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::invalid(format!(
                    "variable `{var}` is NaN or infinite at row {i}"
                )));
            }
            Ok(v.clone())
        }
        Column::Categorical(_) => Err(Error::invalid(format!(
            "variable `{var}` is categorical; use it as a factor, not as a number"
        ))),
    }
}

/// All subsets of `items` (as sets of labels).
fn subsets(items: &[String]) -> Vec<BTreeSet<String>> {
    (0..1usize << items.len())
        .map(|mask| {
            items
                .iter()
                .enumerate()
                .filter(|(i, _)| mask >> i & 1 == 1)
                .map(|(_, s)| s.clone())
                .collect()
        })
        .collect()
}

/// The formula's terms (and the intercept) bucketed by their set of numeric factors, in
/// patsy's order: the bucket without numeric factors first.
fn term_buckets(formula: &Formula, frame: &Frame) -> Result<Vec<(BTreeSet<String>, Vec<Term>)>> {
    let mut buckets: Vec<(BTreeSet<String>, Vec<Term>)> = Vec::new();
    if formula.intercept {
        buckets.push((BTreeSet::new(), vec![Term { factors: vec![] }]));
    }
    for t in &formula.terms {
        let mut num = BTreeSet::new();
        for f in &t.factors {
            if !is_categorical(frame, f)? {
                num.insert(f.label.clone());
            }
        }
        match buckets.iter_mut().find(|(k, _)| *k == num) {
            Some((_, v)) => v.push(t.clone()),
            None => buckets.push((num, vec![t.clone()])),
        }
    }
    if let Some(i) = buckets.iter().position(|(k, _)| k.is_empty()) {
        let b = buckets.remove(i);
        buckets.insert(0, b);
    }
    Ok(buckets)
}

/// The named columns of factor `f` under `coding`: the values of a numeric factor, or one
/// indicator per level (all levels for full coding, all but the reference for reduced).
fn factor_columns(frame: &Frame, f: &Factor, coding: Coding) -> Result<Vec<(String, Vec<f64>)>> {
    if matches!(coding, Coding::Numeric) {
        return Ok(vec![(f.label.clone(), numeric_values(frame, &f.var)?)]);
    }
    let lv = levels_of(frame, f)?;
    let full = matches!(coding, Coding::Full);
    Ok((lv.names.iter().enumerate())
        .filter(|(k, _)| full || *k != lv.reference)
        .map(|(k, name)| {
            let col = if full {
                format!("{}[{name}]", f.label)
            } else {
                format!("{}[T.{name}]", f.label)
            };
            let vals = (lv.codes.iter())
                .map(|&c| f64::from(u8::from(c == k)))
                .collect();
            (col, vals)
        })
        .collect())
}

/// The columns of a term from its factors' columns: their products over every combination
/// (left-most factor varying fastest), named `a:b`; the intercept (no factor) is a column
/// of ones over `n` rows.
fn term_columns(per_factor: &[Vec<(String, Vec<f64>)>], n: usize) -> Vec<(String, Vec<f64>)> {
    if per_factor.is_empty() {
        return vec![("Intercept".to_string(), vec![1.0; n])];
    }
    let counts: Vec<usize> = per_factor.iter().map(Vec::len).collect();
    let total: usize = counts.iter().product();
    let mut out = Vec::with_capacity(total);
    for combo in 0..total {
        let mut rem = combo;
        let mut vals = vec![1.0; n];
        let mut parts = Vec::new();
        for (fi, c) in counts.iter().enumerate() {
            let k = rem % c;
            rem /= c;
            let (nm, v) = &per_factor[fi][k];
            parts.push(nm.clone());
            vals.iter_mut().zip(v).for_each(|(a, b)| *a *= b);
        }
        out.push((parts.join(":"), vals));
    }
    out
}

/// Builds the design matrix of `formula` on `frame`.
pub fn design(formula: &Formula, frame: &Frame) -> Result<Design> {
    let n = frame.rows()?;
    let y = numeric_values(frame, &formula.response)?;
    let mut buckets = term_buckets(formula, frame)?;
    let mut columns: Vec<Vec<f64>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut terms = Vec::new();
    for (_, bucket_terms) in &mut buckets {
        bucket_terms.sort_by_key(|t| t.factors.len());
        let mut used: BTreeSet<BTreeSet<String>> = BTreeSet::new();
        for t in bucket_terms.iter() {
            let mut cats = Vec::new();
            for f in &t.factors {
                if is_categorical(frame, f)? {
                    cats.push(f.label.clone());
                }
            }
            let subs = subsets(&cats);
            let full_set: BTreeSet<String> = cats.iter().cloned().collect();
            let missing: Vec<&BTreeSet<String>> =
                subs.iter().filter(|s| !used.contains(*s)).collect();
            let full_coding = if missing.len() == 1 && *missing[0] == full_set {
                false
            } else if cats.len() == 1 && missing.len() == 2 {
                true
            } else if missing.is_empty() {
                return Err(Error::invalid(format!("term `{}` is repeated", t.name())));
            } else {
                return Err(Error::invalid(format!(
                    "term `{}` is not hierarchical (some of its marginal terms are absent); \
                     add them to the formula",
                    t.name()
                )));
            };
            used.extend(subs);
            let start = columns.len();
            // per factor: list of (name, values)
            let mut per_factor: Vec<Vec<(String, Vec<f64>)>> = Vec::new();
            for f in &t.factors {
                let coding = if !is_categorical(frame, f)? {
                    Coding::Numeric
                } else if full_coding {
                    Coding::Full
                } else {
                    Coding::Reduced
                };
                per_factor.push(factor_columns(frame, f, coding)?);
            }
            for (name, values) in term_columns(&per_factor, n) {
                names.push(name);
                columns.push(values);
            }
            terms.push(DesignTerm {
                name: t.name(),
                factors: t.key(),
                columns: start..columns.len(),
            });
        }
    }
    if columns.is_empty() {
        return Err(Error::invalid("formula has no terms"));
    }
    let x = if n == 0 {
        Matrix {
            rows: 0,
            cols: columns.len(),
            data: vec![],
        }
    } else {
        Matrix::from_columns(&columns)?
    };
    Ok(Design {
        response: formula.response.clone(),
        y,
        x,
        column_names: names,
        terms,
        intercept: formula.intercept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame::new()
            .with_numeric("y", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .with_numeric("x", vec![0.5, 0.1, 0.9, 0.3, 0.2, 0.8])
            .with_numeric("k", vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
            .with_categorical(
                "g",
                ["s", "m", "i", "s", "m", "i"].map(String::from).to_vec(),
            )
    }

    #[test]
    fn patsy_ordering_and_names() {
        let f = parse("y ~ x + C(g, Treatment('s')) * k").unwrap();
        let d = design(&f, &frame()).unwrap();
        assert_eq!(
            d.column_names,
            [
                "Intercept",
                "C(g, Treatment('s'))[T.i]",
                "C(g, Treatment('s'))[T.m]",
                "x",
                "k",
                "C(g, Treatment('s'))[T.i]:k",
                "C(g, Treatment('s'))[T.m]:k"
            ]
        );
        let names: Vec<&str> = d.terms.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Intercept",
                "C(g, Treatment('s'))",
                "x",
                "k",
                "C(g, Treatment('s')):k"
            ]
        );
    }

    #[test]
    fn no_intercept_gives_full_coding_and_minus_drops() {
        let d = design(&parse("y ~ g - 1").unwrap(), &frame()).unwrap();
        assert_eq!(d.column_names, ["g[i]", "g[m]", "g[s]"]);
        let d = design(&parse("y ~ (x + k)*g - x:g").unwrap(), &frame()).unwrap();
        assert_eq!(
            d.column_names,
            [
                "Intercept",
                "g[T.m]",
                "g[T.s]",
                "x",
                "k",
                "k:g[T.m]",
                "k:g[T.s]"
            ]
        );
    }

    #[test]
    fn bad_formulas_are_errors() {
        assert!(parse("~ x").is_err());
        assert!(parse("y ~ x +").is_err());
        let e = design(&parse("y ~ nope").unwrap(), &frame())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`nope`"), "{e}");
        let e = design(&parse("y ~ C(g, Treatment('zz'))").unwrap(), &frame()).unwrap_err();
        assert!(e.to_string().contains("zz"));
        let one = frame().with_categorical("g", vec!["a".to_string(); 6]);
        let e = design(&parse("y ~ g").unwrap(), &one)
            .unwrap_err()
            .to_string();
        assert!(e.contains("single level"), "{e}");
        let e = design(&parse("y ~ x + g:k:C(k)").unwrap(), &frame())
            .unwrap_err()
            .to_string();
        assert!(e.contains("hierarchical"), "{e}");
    }
}
