//! Parsing of `#[orm(...)]` and `#[relationship(...)]` attributes.
//!
//! Every error points at the offending token, says what was expected, and all errors of
//! a struct are reported together.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, LitBool, LitInt, LitStr};

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn spanned(&mut self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A value set once; a second setting is a "duplicate attribute" error.
pub struct Once<T> {
    name: &'static str,
    value: Option<(Span, T)>,
}

impl<T> Once<T> {
    pub fn new(name: &'static str) -> Self {
        Once { name, value: None }
    }

    pub fn set(&mut self, span: Span, v: T, errors: &mut Errors) {
        if self.value.is_some() {
            errors.push(syn::Error::new(
                span,
                format!("duplicate attribute `{}`", self.name),
            ));
        } else {
            self.value = Some((span, v));
        }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    pub fn span(&self) -> Option<Span> {
        self.value.as_ref().map(|(s, _)| *s)
    }

    pub fn take(self) -> Option<T> {
        self.value.map(|(_, v)| v)
    }

    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }
}

fn unknown(meta: &ParseNestedMeta<'_>, what: &str, valid: &[&str]) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "?".into());
    meta.error(format!(
        "unknown {what} attribute `{name}`; expected one of: {}",
        valid.join(", ")
    ))
}

fn lit_str(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let value = meta
        .value()
        .map_err(|_| meta.error(format!("expected `{key} = \"...\"`")))?;
    let expr: Expr = value.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a string literal: `{key} = \"...\"`"),
        )),
    }
}

fn lit_int(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitInt> {
    let value = meta
        .value()
        .map_err(|_| meta.error(format!("expected `{key} = <integer>`")))?;
    let expr: Expr = value.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Ok(i),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected an integer literal: `{key} = 50`"),
        )),
    }
}

/// `flag` or `flag = true/false`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) {
        let value = meta.value()?;
        let expr: Expr = value.parse()?;
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Bool(LitBool { value, .. }),
                ..
            }) => Ok(value),
            other => Err(syn::Error::new_spanned(other, "expected `true` or `false`")),
        }
    } else {
        Ok(true)
    }
}

/// `columns("a", "b")`.
fn string_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = syn::punctuated::Punctuated::<LitStr, syn::Token![,]>::parse_terminated(&content)?;
    if list.is_empty() {
        return Err(meta.error("expected at least one column: `columns(\"a\", \"b\")`"));
    }
    Ok(list.into_iter().collect())
}

/// A struct-level index: `index(name = "...", columns("a", "b"), unique)`.
pub struct IndexAttr {
    pub name: Option<LitStr>,
    pub columns: Vec<LitStr>,
    pub unique: bool,
}

/// A struct-level CHECK: `check(name = "...", sql = "...")`.
pub struct CheckAttr {
    pub name: Option<LitStr>,
    pub sql: LitStr,
}

/// A struct-level (composite) foreign key:
/// `foreign_key(columns("a", "b"), references = "table(x, y)", on_delete = "cascade")`.
pub struct ForeignKeyAttr {
    pub name: Option<LitStr>,
    pub columns: Vec<LitStr>,
    pub references: LitStr,
    pub on_delete: Option<LitStr>,
    pub on_update: Option<LitStr>,
    pub use_alter: bool,
}

/// `#[orm(...)]` on the struct.
pub struct ContainerAttrs {
    pub table: Once<LitStr>,
    pub schema: Once<LitStr>,
    pub indexes: Vec<IndexAttr>,
    pub uniques: Vec<IndexAttr>,
    pub checks: Vec<CheckAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
    /// `#[orm(events)]`: the model implements `ModelEvents` itself.
    pub events: Once<bool>,
}

const CONTAINER_KEYS: &[&str] = &[
    "table",
    "schema",
    "index",
    "unique",
    "check",
    "foreign_key",
    "events",
];

pub fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs {
        table: Once::new("table"),
        schema: Once::new("schema"),
        indexes: Vec::new(),
        uniques: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        events: Once::new("events"),
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("orm")) {
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.get_ident().map_or_else(Span::call_site, |i| i.span());
            if meta.path.is_ident("table") {
                let v = lit_str(&meta, "table")?;
                if v.value().is_empty() {
                    return Err(syn::Error::new_spanned(&v, "the table name cannot be empty"));
                }
                out.table.set(span, v, errors);
            } else if meta.path.is_ident("schema") {
                out.schema.set(span, lit_str(&meta, "schema")?, errors);
            } else if meta.path.is_ident("events") {
                out.events.set(span, flag(&meta)?, errors);
            } else if meta.path.is_ident("index") || meta.path.is_ident("unique") {
                let is_unique_constraint = meta.path.is_ident("unique");
                let mut ix = IndexAttr { name: None, columns: Vec::new(), unique: is_unique_constraint };
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        ix.name = Some(lit_str(&inner, "name")?);
                    } else if inner.path.is_ident("columns") {
                        ix.columns = string_list(&inner)?;
                    } else if inner.path.is_ident("unique") && !is_unique_constraint {
                        ix.unique = flag(&inner)?;
                    } else {
                        let valid: &[&str] = if is_unique_constraint { &["name", "columns"] } else { &["name", "columns", "unique"] };
                        return Err(unknown(&inner, if is_unique_constraint { "unique" } else { "index" }, valid));
                    }
                    Ok(())
                })?;
                if ix.columns.is_empty() {
                    return Err(meta.error("expected `columns(\"a\", \"b\")` inside"));
                }
                if is_unique_constraint {
                    out.uniques.push(ix);
                } else {
                    out.indexes.push(ix);
                }
            } else if meta.path.is_ident("check") {
                let mut name = None;
                let mut sql = None;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        name = Some(lit_str(&inner, "name")?);
                    } else if inner.path.is_ident("sql") {
                        sql = Some(lit_str(&inner, "sql")?);
                    } else {
                        return Err(unknown(&inner, "check", &["name", "sql"]));
                    }
                    Ok(())
                })?;
                let sql = sql.ok_or_else(|| meta.error("expected `sql = \"...\"` inside `check(...)`"))?;
                out.checks.push(CheckAttr { name, sql });
            } else if meta.path.is_ident("foreign_key") {
                let mut fk = ForeignKeyAttr {
                    name: None,
                    columns: Vec::new(),
                    references: LitStr::new("", span),
                    on_delete: None,
                    on_update: None,
                    use_alter: false,
                };
                let mut has_ref = false;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        fk.name = Some(lit_str(&inner, "name")?);
                    } else if inner.path.is_ident("columns") {
                        fk.columns = string_list(&inner)?;
                    } else if inner.path.is_ident("references") {
                        fk.references = lit_str(&inner, "references")?;
                        has_ref = true;
                    } else if inner.path.is_ident("on_delete") {
                        fk.on_delete = Some(lit_str(&inner, "on_delete")?);
                    } else if inner.path.is_ident("on_update") {
                        fk.on_update = Some(lit_str(&inner, "on_update")?);
                    } else if inner.path.is_ident("use_alter") {
                        fk.use_alter = flag(&inner)?;
                    } else {
                        return Err(unknown(&inner, "foreign_key", &["name", "columns", "references", "on_delete", "on_update", "use_alter"]));
                    }
                    Ok(())
                })?;
                if fk.columns.is_empty() || !has_ref {
                    return Err(meta.error("expected `foreign_key(columns(\"a\", \"b\"), references = \"table(x, y)\")`"));
                }
                out.foreign_keys.push(fk);
            } else {
                return Err(unknown(&meta, "struct", CONTAINER_KEYS));
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

/// `#[orm(...)]` on a field.
pub struct FieldAttrs {
    pub primary_key: Once<bool>,
    pub autoincrement: Once<bool>,
    pub unique: Once<bool>,
    pub index: Once<bool>,
    pub max_length: Once<LitInt>,
    pub column: Once<LitStr>,
    pub foreign_key: Once<LitStr>,
    pub on_delete: Once<LitStr>,
    pub on_update: Once<LitStr>,
    pub default: Once<Expr>,
    pub server_default: Once<LitStr>,
    pub version: Once<bool>,
    pub skip: Once<bool>,
    pub sql_type: Once<LitStr>,
    pub comment: Once<LitStr>,
    /// `deferred`: a `Deferred<T>` field left unloaded by default.
    pub deferred: Once<bool>,
    /// `group = "photos"`: the deferred column group of a `Deferred<T>` field, loaded
    /// together by `undefer_group("photos")`. A key of its own next to the `deferred`
    /// flag (`#[orm(deferred, group = "photos")]`, SQLAlchemy's
    /// `deferred(col, group="photos")`), not a `deferred_group` key: `deferred` keeps
    /// meaning "left out by default", and a field loaded by default can be grouped too.
    pub group: Once<LitStr>,
}

const FIELD_KEYS: &[&str] = &[
    "primary_key",
    "autoincrement",
    "unique",
    "index",
    "max_length",
    "column",
    "foreign_key",
    "on_delete",
    "on_update",
    "default",
    "server_default",
    "version",
    "skip",
    "sql_type",
    "comment",
    "deferred",
    "group",
];

pub fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs {
        primary_key: Once::new("primary_key"),
        autoincrement: Once::new("autoincrement"),
        unique: Once::new("unique"),
        index: Once::new("index"),
        max_length: Once::new("max_length"),
        column: Once::new("column"),
        foreign_key: Once::new("foreign_key"),
        on_delete: Once::new("on_delete"),
        on_update: Once::new("on_update"),
        default: Once::new("default"),
        server_default: Once::new("server_default"),
        version: Once::new("version"),
        skip: Once::new("skip"),
        sql_type: Once::new("sql_type"),
        comment: Once::new("comment"),
        deferred: Once::new("deferred"),
        group: Once::new("group"),
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("orm")) {
        let r = attr.parse_nested_meta(|meta| {
            let span = meta
                .path
                .get_ident()
                .map_or_else(Span::call_site, |i| i.span());
            let p = &meta.path;
            if p.is_ident("primary_key") {
                out.primary_key.set(span, flag(&meta)?, errors);
            } else if p.is_ident("autoincrement") {
                out.autoincrement.set(span, flag(&meta)?, errors);
            } else if p.is_ident("unique") {
                out.unique.set(span, flag(&meta)?, errors);
            } else if p.is_ident("index") {
                out.index.set(span, flag(&meta)?, errors);
            } else if p.is_ident("max_length") {
                let n = lit_int(&meta, "max_length")?;
                match n.base10_parse::<u32>() {
                    Ok(0) | Err(_) => {
                        return Err(syn::Error::new_spanned(
                            &n,
                            "max_length must be a positive integer",
                        ));
                    }
                    Ok(_) => out.max_length.set(span, n, errors),
                }
            } else if p.is_ident("column") {
                let v = lit_str(&meta, "column")?;
                if v.value().is_empty() {
                    return Err(syn::Error::new_spanned(
                        &v,
                        "the column name cannot be empty",
                    ));
                }
                out.column.set(span, v, errors);
            } else if p.is_ident("foreign_key") {
                let v = lit_str(&meta, "foreign_key")?;
                let parts = v.value().split('.').count();
                if !(2..=3).contains(&parts) || v.value().split('.').any(str::is_empty) {
                    return Err(syn::Error::new_spanned(
                        &v,
                        "expected `\"table.column\"` or `\"schema.table.column\"`",
                    ));
                }
                out.foreign_key.set(span, v, errors);
            } else if p.is_ident("on_delete") {
                out.on_delete.set(span, action(&meta, "on_delete")?, errors);
            } else if p.is_ident("on_update") {
                out.on_update.set(span, action(&meta, "on_update")?, errors);
            } else if p.is_ident("default") {
                let value = meta
                    .value()
                    .map_err(|_| meta.error("expected `default = <value or function path>`"))?;
                out.default.set(span, value.parse::<Expr>()?, errors);
            } else if p.is_ident("server_default") {
                out.server_default
                    .set(span, lit_str(&meta, "server_default")?, errors);
            } else if p.is_ident("version") {
                out.version.set(span, flag(&meta)?, errors);
            } else if p.is_ident("skip") {
                out.skip.set(span, flag(&meta)?, errors);
            } else if p.is_ident("deferred") {
                out.deferred.set(span, flag(&meta)?, errors);
            } else if p.is_ident("group") {
                let v = lit_str(&meta, "group")?;
                if v.value().trim().is_empty() {
                    return Err(syn::Error::new_spanned(
                        &v,
                        "the group name cannot be empty: `group = \"photos\"`",
                    ));
                }
                match out.group.get() {
                    // One group per column: name the first so the fix is obvious.
                    Some(first) => errors.push(syn::Error::new_spanned(
                        &meta.path,
                        format!(
                            "duplicate attribute `group`: a column belongs to one deferred column group, already `{}`",
                            first.value()
                        ),
                    )),
                    None => out.group.set(span, v, errors),
                }
            } else if p.is_ident("sql_type") {
                out.sql_type.set(span, lit_str(&meta, "sql_type")?, errors);
            } else if p.is_ident("comment") {
                out.comment.set(span, lit_str(&meta, "comment")?, errors);
            } else {
                return Err(unknown(&meta, "field", FIELD_KEYS));
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

/// An ON DELETE / ON UPDATE action, checked.
pub fn action(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let v = lit_str(meta, key)?;
    if parse_action(&v.value()).is_none() {
        return Err(syn::Error::new_spanned(
            &v,
            format!(
                "unknown {key} action `{}`; expected cascade, set null, set default, restrict or no action",
                v.value()
            ),
        ));
    }
    Ok(v)
}

/// The `ReferentialAction` variant name for an action string.
pub fn parse_action(s: &str) -> Option<&'static str> {
    let norm: String = s.trim().to_ascii_lowercase().replace(['_', '-'], " ");
    Some(match norm.as_str() {
        "cascade" => "Cascade",
        "set null" => "SetNull",
        "set default" => "SetDefault",
        "restrict" => "Restrict",
        "no action" => "NoAction",
        _ => return None,
    })
}

/// `#[relationship(...)]` on a field.
pub struct RelationshipAttrs {
    pub back_populates: Once<LitStr>,
    pub secondary: Once<LitStr>,
    pub foreign_keys: Once<LitStr>,
    pub order_by: Once<LitStr>,
    pub lazy: Once<LitStr>,
    pub cascade: Once<LitStr>,
    pub passive_deletes: Once<bool>,
    pub post_update: Once<bool>,
    pub remote_side: Once<LitStr>,
}

const RELATIONSHIP_KEYS: &[&str] = &[
    "back_populates",
    "secondary",
    "foreign_keys",
    "order_by",
    "lazy",
    "cascade",
    "passive_deletes",
    "post_update",
    "remote_side",
];

pub fn relationship(attrs: &[Attribute], errors: &mut Errors) -> Option<(Span, RelationshipAttrs)> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("relationship")) {
        let span = attr
            .path()
            .get_ident()
            .map_or_else(Span::call_site, |i| i.span());
        let out = found.get_or_insert_with(|| {
            (
                span,
                RelationshipAttrs {
                    back_populates: Once::new("back_populates"),
                    secondary: Once::new("secondary"),
                    foreign_keys: Once::new("foreign_keys"),
                    order_by: Once::new("order_by"),
                    lazy: Once::new("lazy"),
                    cascade: Once::new("cascade"),
                    passive_deletes: Once::new("passive_deletes"),
                    post_update: Once::new("post_update"),
                    remote_side: Once::new("remote_side"),
                },
            )
        });
        let rel = &mut out.1;
        if matches!(attr.meta, syn::Meta::Path(_)) {
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.get_ident().map_or_else(Span::call_site, |i| i.span());
            let p = &meta.path;
            if p.is_ident("back_populates") {
                rel.back_populates.set(span, lit_str(&meta, "back_populates")?, errors);
            } else if p.is_ident("secondary") {
                rel.secondary.set(span, lit_str(&meta, "secondary")?, errors);
            } else if p.is_ident("foreign_keys") {
                rel.foreign_keys.set(span, lit_str(&meta, "foreign_keys")?, errors);
            } else if p.is_ident("order_by") {
                rel.order_by.set(span, lit_str(&meta, "order_by")?, errors);
            } else if p.is_ident("lazy") {
                let v = lit_str(&meta, "lazy")?;
                if !["select", "explicit", "selectin", "joined", "subquery", "noload", "raise"].contains(&v.value().as_str()) {
                    return Err(syn::Error::new_spanned(
                        &v,
                        format!("unknown loader `{}`; expected selectin, joined, subquery, select, noload or raise", v.value()),
                    ));
                }
                rel.lazy.set(span, v, errors);
            } else if p.is_ident("cascade") {
                let v = lit_str(&meta, "cascade")?;
                for part in v.value().split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if !["all", "save-update", "merge", "delete", "delete-orphan", "expunge", "refresh-expire", "none"].contains(&part) {
                        return Err(syn::Error::new_spanned(
                            &v,
                            format!(
                                "unknown cascade `{part}`; expected all, save-update, merge, delete, delete-orphan, expunge, refresh-expire or none"
                            ),
                        ));
                    }
                }
                rel.cascade.set(span, v, errors);
            } else if p.is_ident("passive_deletes") {
                rel.passive_deletes.set(span, flag(&meta)?, errors);
            } else if p.is_ident("post_update") {
                rel.post_update.set(span, flag(&meta)?, errors);
            } else if p.is_ident("remote_side") {
                rel.remote_side.set(span, lit_str(&meta, "remote_side")?, errors);
            } else {
                return Err(unknown(&meta, "relationship", RELATIONSHIP_KEYS));
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    found
}
