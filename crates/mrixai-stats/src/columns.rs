//! Typed table rows without a data-frame library: column kinds and values, the [`Field`]
//! trait of a row's columns, and [`stats_table!`](crate::stats_table), which declares a
//! row struct with its columns. [`crate::table`] turns rows into tables on disk;
//! [`crate::tables`] and [`crate::effects`] declare the rows of the statistics.

use mrixai_core::{Error, Result};

/// Kind of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Str,
    /// 64-bit float (NaN allowed).
    F64,
    /// 64-bit integer.
    I64,
    /// Boolean.
    Bool,
}

/// A single cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// Float.
    F64(f64),
    /// Integer.
    I64(i64),
    /// Boolean.
    Bool(bool),
    /// Missing.
    Null,
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::I64(v as i64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// The value as f64 (integers converted; NaN for anything else).
    pub fn f64(&self) -> f64 {
        match self {
            Value::F64(v) => *v,
            Value::I64(v) => *v as f64,
            _ => f64::NAN,
        }
    }
    /// The value as text (`""` for null; numbers formatted).
    pub fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::F64(v) => format!("{v}"),
            Value::I64(v) => v.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
        }
    }
    /// The value as an integer, if it is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// The value as a boolean, if it is one.
    pub fn bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

/// A field of a typed table row: one column (a number, a text, a flag, or an optional one)
/// or a group of columns (a struct made by [`stats_table!`](crate::stats_table)).
pub trait Field: Sized {
    /// Appends the column(s) the field spans; `name` is the field's column name.
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>);
    /// Appends its value(s).
    fn put(&self, out: &mut Vec<Value>);
    /// Reads its value(s) from the front of `row`; `name` is the field's column name.
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self>;
}

/// A row of a stats table written to `<stem>.csv` and `<stem>.parquet`.
pub trait TableRow: Field {
    /// File stem of the table.
    const STEM: &'static str;
}

/// The next value of `row`, for column `name`.
fn next<'a>(row: &mut std::slice::Iter<'a, Value>, name: &str) -> Result<&'a Value> {
    row.next()
        .ok_or_else(|| Error::invalid(format!("column `{name}` is missing")))
}

fn mismatch<T>(name: &str, want: &str, got: &Value) -> Result<T> {
    Err(Error::invalid(format!(
        "column `{name}` should hold {want}, found {got:?}"
    )))
}

impl Field for String {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::Str));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::Str(self.clone()));
    }
    /// Any value as text (a CSV reader may take a text column of digits for numbers).
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        Ok(next(row, name)?.text())
    }
}

impl Field for f64 {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::F64));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::F64(*self));
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        match next(row, name)? {
            Value::F64(v) => Ok(*v),
            Value::I64(v) => Ok(*v as f64),
            Value::Null => Ok(f64::NAN),
            Value::Str(s) => s
                .parse()
                .or_else(|_| mismatch(name, "a number", &Value::Str(s.clone()))),
            v => mismatch(name, "a number", v),
        }
    }
}

impl Field for i64 {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::I64));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::I64(*self));
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        match next(row, name)? {
            Value::I64(v) => Ok(*v),
            v => mismatch(name, "an integer", v),
        }
    }
}

impl Field for usize {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::I64));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::from(*self));
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        match next(row, name)? {
            Value::I64(v) if *v >= 0 => Ok(*v as usize),
            v => mismatch(name, "a count", v),
        }
    }
}

impl Field for bool {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::Bool));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::Bool(*self));
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        match next(row, name)? {
            Value::Bool(v) => Ok(*v),
            v => mismatch(name, "true or false", v),
        }
    }
}

/// A pre-training source, written as its name.
impl Field for mrixai_core::SourceName {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        out.push((name, Kind::Str));
    }
    fn put(&self, out: &mut Vec<Value>) {
        out.push(Value::Str(self.as_str().to_string()));
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        Ok(Self::from(next(row, name)?.text().as_str()))
    }
}

/// An optional value: null when absent.
impl<T: Field> Field for Option<T> {
    fn columns(name: &'static str, out: &mut Vec<(&'static str, Kind)>) {
        T::columns(name, out);
    }
    fn put(&self, out: &mut Vec<Value>) {
        match self {
            Some(v) => v.put(out),
            None => out.push(Value::Null),
        }
    }
    fn take(row: &mut std::slice::Iter<'_, Value>, name: &'static str) -> Result<Self> {
        let mut ahead = row.clone();
        match next(&mut ahead, name)? {
            Value::Null => {
                row.next();
                Ok(None)
            }
            Value::Str(s) if s.is_empty() => {
                row.next();
                Ok(None)
            }
            _ => T::take(row, name).map(Some),
        }
    }
}

/// Declares an enum written as fixed names in a text column (`Variant = "name"`), with
/// `name()`, `Display` and [`Field`] (reading an unknown name is an error naming the column).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $text:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
        }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The name written in tables.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$var => $text, )*
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
        impl $crate::columns::Field for $name {
            fn columns(
                name: &'static str,
                out: &mut Vec<(&'static str, $crate::columns::Kind)>,
            ) {
                out.push((name, $crate::columns::Kind::Str));
            }
            fn put(&self, out: &mut Vec<$crate::columns::Value>) {
                out.push($crate::columns::Value::Str(self.name().to_string()));
            }
            fn take(
                row: &mut std::slice::Iter<'_, $crate::columns::Value>,
                name: &'static str,
            ) -> mrixai_core::Result<Self> {
                let text = <String as $crate::columns::Field>::take(row, name)?;
                Self::ALL.iter().copied().find(|v| v.name() == text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
                    mrixai_core::Error::invalid(format!(
                        "column `{name}` holds `{text}`, expected one of {}",
                        names.join(", ")
                    ))
                })
            }
        }
    };
}

/// Declares a struct whose fields are table columns (in order; `as "name"` renames one) and
/// implements [`Field`] for it; with `= "stem"` it is a [`TableRow`] written to that stem.
#[macro_export]
macro_rules! stats_table {
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $col:literal) => { $col };
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(= $stem:literal)? {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty $(as $col:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }
        impl $crate::columns::Field for $name {
            fn columns(
                _: &'static str,
                out: &mut Vec<(&'static str, $crate::columns::Kind)>,
            ) {
                $( <$ty as $crate::columns::Field>::columns(
                    $crate::stats_table!(@name $field $($col)?),
                    out,
                ); )*
            }
            fn put(&self, out: &mut Vec<$crate::columns::Value>) {
                $( $crate::columns::Field::put(&self.$field, out); )*
            }
            fn take(
                row: &mut std::slice::Iter<'_, $crate::columns::Value>,
                _: &'static str,
            ) -> mrixai_core::Result<Self> {
                Ok(Self {
                    $( $field: <$ty as $crate::columns::Field>::take(
                        row,
                        $crate::stats_table!(@name $field $($col)?),
                    )?, )*
                })
            }
        }
        $( impl $crate::columns::TableRow for $name {
            const STEM: &'static str = $stem;
        } )?
    };
}

/// The columns of rows of type `R`.
pub fn columns_of<R: Field>() -> Vec<(&'static str, Kind)> {
    let mut cols = Vec::new();
    R::columns("", &mut cols);
    cols
}
