//! The model of a `#[derive(Model)]` struct: its table, columns and relationships,
//! checked, ready to expand.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitInt, LitStr, PathArguments, Type,
};

use crate::attr::{self, ContainerAttrs, Errors, ForeignKeyAttr, IndexAttr};

pub struct ModelDef {
    pub ident: Ident,
    pub table: String,
    pub schema: Option<String>,
    pub columns: Vec<ColumnDef>,
    pub relationships: Vec<RelationshipDef>,
    pub skipped: Vec<Ident>,
    pub indexes: Vec<IndexAttr>,
    pub uniques: Vec<IndexAttr>,
    pub checks: Vec<attr::CheckAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
    /// `#[orm(events)]`: the user implements `ModelEvents`.
    pub events: bool,
}

pub struct ColumnDef {
    pub field: Ident,
    /// The column's Rust type: the field's, or `T` of a `Deferred<T>` field.
    pub ty: Type,
    /// `Some(by_default)` for a `Deferred<T>` field (`by_default`: `#[orm(deferred)]`).
    pub deferred: Option<bool>,
    /// `#[orm(group = "...")]`: the deferred column group of a `Deferred<T>` field.
    pub group: Option<String>,
    /// `T` for `Option<T>`.
    pub inner: Option<Type>,
    pub name: String,
    pub primary_key: bool,
    /// `Some(true)`: always; `Some(false)`: never; `None`: SQLAlchemy's "auto".
    pub autoincrement: Option<bool>,
    /// The database generates the value (the autoincrement column).
    pub generated: bool,
    pub unique: bool,
    pub index: bool,
    pub max_length: Option<LitInt>,
    pub foreign_key: Option<LitStr>,
    pub on_delete: Option<LitStr>,
    pub on_update: Option<LitStr>,
    pub default: Option<Expr>,
    pub server_default: Option<LitStr>,
    pub version: bool,
    pub sql_type: Option<LitStr>,
    pub comment: Option<LitStr>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `Related<Vec<T>>`
    Many,
    /// `Related<T>`
    One,
    /// `Related<Option<T>>`
    OptionalOne,
}

pub struct RelationshipDef {
    pub field: Ident,
    /// The `X` of `Related<X>`.
    pub value_ty: Type,
    pub target: Type,
    pub shape: Shape,
    pub back_populates: Option<LitStr>,
    pub secondary: Option<LitStr>,
    pub foreign_keys: Vec<String>,
    pub order_by: Vec<String>,
    pub lazy: Option<String>,
    pub cascade: Option<String>,
    pub passive_deletes: bool,
    pub post_update: bool,
    pub remote_side: Vec<String>,
    pub span: Span,
}

/// The last path segment's name and its generic arguments.
fn last_segment(ty: &Type) -> Option<(&Ident, Vec<&Type>)> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    let args = match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((&seg.ident, args))
}

/// `Some(T)` for `Option<T>`.
pub fn option_inner(ty: &Type) -> Option<Type> {
    match last_segment(ty) {
        Some((id, args)) if id == "Option" && args.len() == 1 => Some(args[0].clone()),
        _ => None,
    }
}

fn is_integer(ty: &Type) -> bool {
    matches!(last_segment(ty), Some((id, args)) if args.is_empty() && ["i16", "i32", "i64"].iter().any(|n| id == n))
}

fn is_string(ty: &Type) -> bool {
    matches!(last_segment(ty), Some((id, args)) if args.is_empty() && id == "String")
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

pub fn from_ast(input: DeriveInput) -> syn::Result<ModelDef> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "a model cannot be generic: `#[derive(Model)]` maps one struct to one table",
        );
    }
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().cloned().collect::<Vec<_>>(),
            other => {
                errors.spanned(other, "`#[derive(Model)]` needs a struct with named fields");
                Vec::new()
            }
        },
        Data::Enum(e) => {
            errors.push(syn::Error::new(
                e.enum_token.span,
                "`#[derive(Model)]` works on structs, not enums",
            ));
            Vec::new()
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span,
                "`#[derive(Model)]` works on structs, not unions",
            ));
            Vec::new()
        }
    };
    let ContainerAttrs {
        table,
        schema,
        indexes,
        uniques,
        checks,
        foreign_keys,
        events,
    } = attr::container(&input.attrs, &mut errors);
    let table_name = table
        .get()
        .map(LitStr::value)
        .unwrap_or_else(|| snake_case(&input.ident.to_string()));

    let mut columns = Vec::new();
    let mut relationships = Vec::new();
    let mut skipped = Vec::new();
    for f in &fields {
        let Some(ident) = f.ident.clone() else {
            continue;
        };
        let rel = attr::relationship(&f.attrs, &mut errors);
        let fa = attr::field(&f.attrs, &mut errors);
        let related = match last_segment(&f.ty) {
            Some((id, args)) if id == "Related" && args.len() == 1 => Some(args[0].clone()),
            _ => None,
        };
        match (rel, related) {
            (Some((span, ra)), Some(value_ty)) => {
                if fa.primary_key.is_set()
                    || fa.column.is_set()
                    || fa.foreign_key.is_set()
                    || fa.skip.is_set()
                {
                    errors.spanned(
                        &ident,
                        "`#[orm(...)]` column attributes do not apply to a relationship field",
                    );
                }
                let (shape, target) = match last_segment(&value_ty) {
                    Some((id, args)) if id == "Vec" && args.len() == 1 => {
                        (Shape::Many, args[0].clone())
                    }
                    Some((id, args)) if id == "Option" && args.len() == 1 => {
                        (Shape::OptionalOne, args[0].clone())
                    }
                    _ => (Shape::One, value_ty.clone()),
                };
                if ra.secondary.is_set() && ra.post_update.get() == Some(&true) {
                    errors.push(syn::Error::new(
                        ra.post_update.span().unwrap_or(span),
                        "`post_update` sets a foreign key with a second UPDATE; a many-to-many (`secondary`) has none: its association rows are inserted after both sides",
                    ));
                }
                if ra.secondary.is_set() && shape != Shape::Many {
                    errors.push(syn::Error::new(
                        ra.secondary.span().unwrap_or(span),
                        "`secondary` (many-to-many) needs a collection: `Related<Vec<T>>`",
                    ));
                }
                relationships.push(RelationshipDef {
                    field: ident,
                    value_ty,
                    target,
                    shape,
                    back_populates: ra.back_populates.take(),
                    secondary: ra.secondary.take(),
                    foreign_keys: ra
                        .foreign_keys
                        .get()
                        .map(|s| split_list(&s.value()))
                        .unwrap_or_default(),
                    order_by: ra
                        .order_by
                        .get()
                        .map(|s| split_list(&s.value()))
                        .unwrap_or_default(),
                    lazy: ra.lazy.get().map(LitStr::value),
                    cascade: ra.cascade.get().map(LitStr::value),
                    passive_deletes: ra.passive_deletes.get().copied().unwrap_or(false),
                    post_update: ra.post_update.get().copied().unwrap_or(false),
                    remote_side: ra
                        .remote_side
                        .get()
                        .map(|s| split_list(&s.value()))
                        .unwrap_or_default(),
                    span,
                });
                continue;
            }
            (Some((span, _)), None) => {
                errors.push(syn::Error::new(span, "a `#[relationship]` field must have type `Related<T>`, `Related<Option<T>>` or `Related<Vec<T>>`"));
                errors.spanned(&f.ty, "this type is not `Related<...>`");
                continue;
            }
            (None, Some(_)) => {
                errors.spanned(&f.ty, "a `Related<...>` field needs `#[relationship]` (with `back_populates`, `secondary`, ... as needed)");
                continue;
            }
            (None, None) => {}
        }
        if fa.skip.get().copied().unwrap_or(false) {
            let others = [
                fa.primary_key.is_set(),
                fa.column.is_set(),
                fa.foreign_key.is_set(),
                fa.unique.is_set(),
                fa.index.is_set(),
                fa.default.is_set(),
                fa.server_default.is_set(),
                fa.version.is_set(),
                fa.sql_type.is_set(),
                fa.deferred.is_set(),
                fa.group.is_set(),
            ];
            if others.iter().any(|b| *b) {
                errors.spanned(
                    &ident,
                    "a `skip` field is not a column: remove its other `#[orm(...)]` attributes",
                );
            }
            skipped.push(ident);
            continue;
        }
        // `Deferred<T>`: a column a query may leave unloaded; the column's type is `T`.
        let deferred_ty = match last_segment(&f.ty) {
            Some((id, args)) if id == "Deferred" && args.len() == 1 => Some(args[0].clone()),
            _ => None,
        };
        let by_default = fa.deferred.get().copied().unwrap_or(false);
        if fa.deferred.is_set() && deferred_ty.is_none() {
            errors.spanned(
                &f.ty,
                "`#[orm(deferred)]` needs a `Deferred<T>` field: a plain field is always loaded and cannot be left unloaded",
            );
        } else if let (Some(g), None) = (fa.group.get(), &deferred_ty) {
            errors.spanned(
                &f.ty,
                format!(
                    "`group = \"{}\"` needs a `Deferred<T>` field: only a column a query can leave unloaded belongs to a deferred group",
                    g.value()
                ),
            );
        }
        let column_ty = deferred_ty.clone().unwrap_or_else(|| f.ty.clone());
        if deferred_ty.is_some() {
            let refused = [
                (
                    fa.primary_key.get().copied().unwrap_or(false),
                    "a primary-key column",
                ),
                (
                    fa.version.get().copied().unwrap_or(false),
                    "a `version` counter",
                ),
            ];
            for (on, what) in refused {
                if on {
                    errors.spanned(
                        &f.ty,
                        format!("{what} is always loaded: it cannot be `Deferred<T>`"),
                    );
                }
            }
            if columns.len() >= 64 {
                errors.spanned(
                    &f.ty,
                    "only the first 64 columns of a model can be `Deferred<T>`; move this field up",
                );
            }
        }
        let inner = option_inner(&column_ty);
        let primary_key = fa.primary_key.get().copied().unwrap_or(false);
        if primary_key && inner.is_some() {
            errors.spanned(
                &f.ty,
                "a primary-key column cannot be `Option<T>`: primary keys are NOT NULL",
            );
        }
        let base = inner.clone().unwrap_or_else(|| f.ty.clone());
        if let (Some(true), false) = (fa.autoincrement.get(), is_integer(&base)) {
            errors.push(syn::Error::new(
                fa.autoincrement.span().unwrap_or_else(Span::call_site),
                "`autoincrement` needs an integer column (i16, i32 or i64)",
            ));
        }
        if fa.version.get().copied().unwrap_or(false) && !is_integer(&column_ty) {
            errors.spanned(
                &f.ty,
                "a `version` counter must be an integer (i16, i32 or i64), not nullable",
            );
        }
        if let Some(n) = fa.max_length.get()
            && !is_string(&base)
        {
            errors.spanned(n, "`max_length` applies to `String` columns only");
        }
        if !fa.foreign_key.is_set() {
            for (attr, key) in [(&fa.on_delete, "on_delete"), (&fa.on_update, "on_update")] {
                if let Some(v) = attr.get() {
                    errors.spanned(
                        v,
                        format!(
                            "`{key}` needs a `foreign_key = \"table.column\"` on the same field"
                        ),
                    );
                }
            }
        }
        if let (Some(d), Some(_)) = (fa.default.get(), fa.server_default.get()) {
            errors.spanned(
                d,
                "a column has either a Rust-side `default` or a `server_default`, not both",
            );
        }
        let name = fa
            .column
            .get()
            .map(LitStr::value)
            .unwrap_or_else(|| ident.unraw().to_string());
        columns.push(ColumnDef {
            field: ident,
            ty: column_ty,
            deferred: deferred_ty.map(|_| by_default),
            group: fa.group.get().map(LitStr::value),
            inner,
            name,
            primary_key,
            autoincrement: fa.autoincrement.get().copied(),
            generated: false,
            unique: fa.unique.get().copied().unwrap_or(false),
            index: fa.index.get().copied().unwrap_or(false),
            max_length: fa.max_length.take(),
            foreign_key: fa.foreign_key.take(),
            on_delete: fa.on_delete.take(),
            on_update: fa.on_update.take(),
            default: fa.default.take(),
            server_default: fa.server_default.take(),
            version: fa.version.get().copied().unwrap_or(false),
            sql_type: fa.sql_type.take(),
            comment: fa.comment.take(),
        });
    }

    // Names must be unique.
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].iter().any(|o| o.name == c.name) {
            errors.spanned(
                &c.field,
                format!(
                    "two fields map to the column `{}`; give one `#[orm(column = \"...\")]`",
                    c.name
                ),
            );
        }
    }
    // Inherent items the derive generates, and trait functions a generated column const
    // would hide (`Model::table()` behind a `table` column).
    const TAKEN: &[&str] = &[
        "new",
        "table",
        "columns",
        "relationships",
        "sql",
        "from_row",
        "values",
        "primary_key",
        "key_values",
    ];
    for c in columns
        .iter()
        .map(|c| &c.field)
        .chain(relationships.iter().map(|r| &r.field))
    {
        let name = c.unraw().to_string();
        if TAKEN.contains(&name.as_str()) && name != "new" {
            errors.spanned(c, format!("a field named `{name}` would hide `{name}()` of the generated impls; rename the field and map it with `#[orm(column = \"{name}\")]`"));
        }
    }
    for c in &columns {
        if c.field == "new" {
            errors.spanned(&c.field, "a field named `new` would hide the generated constructor `new`; rename it and map it with `#[orm(column = \"new\")]`");
        }
    }
    // Struct-level constraints name existing columns.
    let known = |n: &str| columns.iter().any(|c| c.name == n);
    for list in [&indexes, &uniques] {
        for ix in list.iter() {
            for c in &ix.columns {
                if !known(&c.value()) {
                    errors.spanned(c, format!("no column `{}` in this model", c.value()));
                }
            }
        }
    }
    for fk in &foreign_keys {
        for c in &fk.columns {
            if !known(&c.value()) {
                errors.spanned(c, format!("no column `{}` in this model", c.value()));
            }
        }
        match parse_references(&fk.references.value()) {
            Some((_, _, cols)) if cols.len() == fk.columns.len() => {}
            Some(_) => errors.spanned(
                &fk.references,
                "the referenced columns must pair with `columns(...)` one to one",
            ),
            None => errors.spanned(
                &fk.references,
                "expected `references = \"table(col, ...)\"` or `\"schema.table(col, ...)\"`",
            ),
        }
        for a in [&fk.on_delete, &fk.on_update].into_iter().flatten() {
            if attr::parse_action(&a.value()).is_none() {
                errors.spanned(a, "unknown action; expected cascade, set null, set default, restrict or no action");
            }
        }
    }
    for r in &relationships {
        for o in &r.order_by {
            if o.trim_start_matches('-').is_empty() {
                errors.push(syn::Error::new(
                    r.span,
                    "`order_by` lists column names, `-` before one for descending",
                ));
            }
        }
    }

    // The primary key.
    let pk_count = columns.iter().filter(|c| c.primary_key).count();
    // (Only when every attribute parsed: a mistyped `primary_key` is reported as such.)
    if pk_count == 0 && errors.is_empty() {
        errors.spanned(
            &input.ident,
            format!(
                "model `{}` has no primary key; mark a field `#[orm(primary_key)]`",
                input.ident
            ),
        );
    }
    // SQLAlchemy's autoincrement rule: the single integer primary-key column without a
    // foreign key or a default, or any column marked `autoincrement`.
    let explicit = columns.iter().position(|c| c.autoincrement == Some(true));
    let auto = explicit.or_else(|| {
        if pk_count != 1 {
            return None;
        }
        let i = columns.iter().position(|c| c.primary_key)?;
        let c = &columns[i];
        let fk_here = c.foreign_key.is_some()
            || foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|n| n.value() == c.name));
        (is_integer(&c.ty)
            && c.autoincrement.is_none()
            && c.default.is_none()
            && c.server_default.is_none()
            && !fk_here)
            .then_some(i)
    });
    if let Some(i) = auto {
        columns[i].generated = true;
    }
    // The runtime applies the same rule to the Table; a key the derive cannot see as an
    // integer (a type alias) is marked explicitly so that both agree.
    if pk_count == 1 {
        for c in columns
            .iter_mut()
            .filter(|c| c.primary_key && c.autoincrement.is_none())
        {
            c.autoincrement = Some(c.generated);
        }
    }

    errors.finish()?;
    Ok(ModelDef {
        ident: input.ident,
        table: table_name,
        schema: schema.get().map(LitStr::value),
        columns,
        relationships,
        skipped,
        indexes,
        uniques,
        checks,
        foreign_keys,
        events: events.get().copied().unwrap_or(false),
    })
}

/// `"table(a, b)"` or `"schema.table(a, b)"` → (schema, table, columns).
pub fn parse_references(s: &str) -> Option<(Option<String>, String, Vec<String>)> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close != s.len() - 1 || close < open {
        return None;
    }
    let target = s[..open].trim();
    let cols = split_list(&s[open + 1..close]);
    if target.is_empty() || cols.is_empty() {
        return None;
    }
    let (schema, table) = match target.rsplit_once('.') {
        Some((sch, t)) => (Some(sch.to_owned()), t.to_owned()),
        None => (None, target.to_owned()),
    };
    Some((schema, table, cols))
}
