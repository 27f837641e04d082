//! The vocabulary of the `RegisterTaskDefinition` key tree: the JSON type of a field and one key
//! of a shape. [`super::schema`] (generated) lists the shapes in it; [`super::check`] checks
//! documents against them. Pure.

/// The JSON type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    /// An object of the named shape.
    Obj(&'static str),
    List(&'static Kind),
    /// An object with free keys.
    Map(&'static Kind),
}

/// One key of a shape.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub kind: Kind,
    pub required: bool,
}
