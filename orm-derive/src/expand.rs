//! Code generation for `#[derive(Model)]`. Generated code names only
//! `::orm::codegen_support::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Expr, Ident, LitStr};

use crate::model::{ColumnDef, ModelDef, RelationshipDef, Shape, parse_references};

fn cs() -> TokenStream {
    quote!(::orm::codegen_support)
}

fn sql_type_tokens(lit: &LitStr) -> TokenStream {
    let cs = cs();
    let raw = lit.value();
    let s = raw.trim().to_ascii_lowercase();
    let args = |s: &str| -> Option<Vec<u32>> {
        let open = s.find('(')?;
        let inner = s[open + 1..].strip_suffix(')')?;
        inner.split(',').map(|p| p.trim().parse().ok()).collect()
    };
    let head = s.split('(').next().unwrap_or("").trim().to_owned();
    match (head.as_str(), args(&s).as_deref()) {
        ("smallint", None) => quote!(#cs::SqlType::SmallInt),
        ("integer" | "int", None) => quote!(#cs::SqlType::Integer),
        ("bigint", None) => quote!(#cs::SqlType::BigInt),
        ("float" | "real", None) => quote!(#cs::SqlType::Float),
        ("double" | "double precision", None) => quote!(#cs::SqlType::Double),
        ("numeric" | "decimal", None) => {
            quote!(#cs::SqlType::Numeric { precision: None, scale: None })
        }
        ("numeric" | "decimal", Some([p])) => {
            quote!(#cs::SqlType::Numeric { precision: Some(#p), scale: None })
        }
        ("numeric" | "decimal", Some([p, sc])) => {
            quote!(#cs::SqlType::Numeric { precision: Some(#p), scale: Some(#sc) })
        }
        ("varchar" | "string", None) => quote!(#cs::SqlType::Varchar(None)),
        ("varchar" | "string", Some([n])) => quote!(#cs::SqlType::Varchar(Some(#n))),
        ("text", None) => quote!(#cs::SqlType::Text),
        ("boolean" | "bool", None) => quote!(#cs::SqlType::Boolean),
        ("date", None) => quote!(#cs::SqlType::Date),
        ("time", None) => quote!(#cs::SqlType::Time),
        ("datetime" | "timestamp", None) => quote!(#cs::SqlType::DateTime),
        ("timestamptz" | "timestamp with time zone", None) => quote!(#cs::SqlType::TimestampTz),
        ("blob" | "bytea" | "binary", None) => quote!(#cs::SqlType::Blob),
        ("uuid", None) => quote!(#cs::SqlType::Uuid),
        ("json" | "jsonb", None) => quote!(#cs::SqlType::Json),
        _ => quote!(#cs::SqlType::Custom(::std::string::String::from(#raw))),
    }
}

fn action_tokens(lit: &LitStr) -> TokenStream {
    let cs = cs();
    let variant = format_ident!(
        "{}",
        crate::attr::parse_action(&lit.value()).unwrap_or("NoAction")
    );
    quote!(#cs::ReferentialAction::#variant)
}

/// A default's value: a path to a function (its last segment in lower case, e.g.
/// `chrono::Utc::now`, `default_title`) is called; a constant (`i64::MAX`, `START`) or any
/// other expression is used as is.
fn default_value(e: &Expr) -> TokenStream {
    match e {
        Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| {
                s.ident
                    .unraw()
                    .to_string()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_lowercase() || c == '_')
            }) =>
        {
            quote!(#e())
        }
        other => quote!(#other),
    }
}

fn column_builder(c: &ColumnDef) -> TokenStream {
    let cs = cs();
    let name = &c.name;
    let ty = &c.ty;
    let sql_type = match (&c.sql_type, &c.max_length) {
        (Some(st), _) => sql_type_tokens(st),
        (None, Some(n)) => quote!(#cs::SqlType::Varchar(Some(#n))),
        (None, None) => {
            quote_spanned!(syn::spanned::Spanned::span(ty) => <#ty as #cs::ExprType>::sql_type())
        }
    };
    let mut b = quote!(#cs::SchemaColumn::new(#name, #sql_type));
    if c.primary_key {
        b = quote!(#b.primary_key());
    }
    if c.inner.is_none() {
        b = quote!(#b.not_null());
    }
    match c.autoincrement {
        Some(true) => b = quote!(#b.autoincrement(#cs::Autoincrement::Yes)),
        Some(false) => b = quote!(#b.autoincrement(#cs::Autoincrement::No)),
        None => {}
    }
    if c.unique {
        b = quote!(#b.unique());
    }
    if c.index {
        b = quote!(#b.index());
    }
    if let Some(sd) = &c.server_default {
        b = quote!(#b.server_default(#sd));
    }
    if let Some(cm) = &c.comment {
        b = quote!(#b.comment(#cm));
    }
    if let Some(d) = &c.default {
        let v = default_value(d);
        b = quote!(#b.default_with(|| {
            let v: #ty = ::core::convert::Into::into(#v);
            #cs::Value::from(v)
        }));
    }
    b
}

fn field_foreign_key(c: &ColumnDef) -> Option<(TokenStream, String)> {
    let cs = cs();
    let target = c.foreign_key.as_ref()?.value();
    let parts: Vec<&str> = target.split('.').collect();
    let (schema, table, col) = match parts.as_slice() {
        [t, col] => (None, *t, *col),
        [s, t, col] => (Some(*s), *t, *col),
        _ => return None,
    };
    let name = &c.name;
    let mut fk = quote!(#cs::ForeignKey::new([#name], #table, [#col]));
    if let Some(s) = schema {
        fk = quote!(#fk.referred_schema(#s));
    }
    if let Some(a) = &c.on_delete {
        let a = action_tokens(a);
        fk = quote!(#fk.on_delete(#a));
    }
    if let Some(a) = &c.on_update {
        let a = action_tokens(a);
        fk = quote!(#fk.on_update(#a));
    }
    Some((fk, table.to_owned()))
}

pub fn model(m: &ModelDef) -> TokenStream {
    let cs = cs();
    let ident = &m.ident;
    // Without `#[orm(events)]` the model has no hooks (and the session skips them).
    let events_impl = if m.events {
        TokenStream::new()
    } else {
        quote! {
            impl #cs::ModelEvents for #ident {
                const HOOKS: bool = false;
            }
        }
    };
    let model_name = ident.to_string();
    let table = &m.table;
    let schema = match &m.schema {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };

    // ---- the Table
    let mut builders: Vec<TokenStream> = m
        .columns
        .iter()
        .map(|c| {
            let b = column_builder(c);
            quote!(.column(#b))
        })
        .collect();
    let mut fk_infos: Vec<TokenStream> = Vec::new();
    for c in &m.columns {
        if let Some((fk, referred)) = field_foreign_key(c) {
            builders.push(quote!(.foreign_key(#fk)));
            let name = &c.name;
            fk_infos.push(quote!(#cs::FkInfo { columns: &[#name], referred_table: #referred }));
        }
    }
    for fk in &m.foreign_keys {
        let Some((schema, referred, rcols)) = parse_references(&fk.references.value()) else {
            continue;
        };
        let cols = &fk.columns;
        let mut t = quote!(#cs::ForeignKey::new([#(#cols),*], #referred, [#(#rcols),*]));
        if let Some(s) = schema {
            t = quote!(#t.referred_schema(#s));
        }
        if let Some(n) = &fk.name {
            t = quote!(#t.name(#n));
        }
        if let Some(a) = &fk.on_delete {
            let a = action_tokens(a);
            t = quote!(#t.on_delete(#a));
        }
        if let Some(a) = &fk.on_update {
            let a = action_tokens(a);
            t = quote!(#t.on_update(#a));
        }
        if fk.use_alter {
            t = quote!(#t.use_alter());
        }
        builders.push(quote!(.foreign_key(#t)));
        fk_infos.push(quote!(#cs::FkInfo { columns: &[#(#cols),*], referred_table: #referred }));
    }
    for ix in &m.indexes {
        let cols = &ix.columns;
        let mut t = quote!(#cs::Index::new([#(#cols),*]));
        if let Some(n) = &ix.name {
            t = quote!(#t.name(#n));
        }
        if ix.unique {
            t = quote!(#t.unique());
        }
        builders.push(quote!(.index(#t)));
    }
    for uq in &m.uniques {
        let cols = &uq.columns;
        let mut t = quote!(#cs::UniqueConstraint::new([#(#cols),*]));
        if let Some(n) = &uq.name {
            t = quote!(#t.name(#n));
        }
        builders.push(quote!(.unique(#t)));
    }
    for ck in &m.checks {
        let sql = &ck.sql;
        let mut t = quote!(#cs::CheckConstraint::new(#sql));
        if let Some(n) = &ck.name {
            t = quote!(#t.name(#n));
        }
        builders.push(quote!(.check(#t)));
    }
    let schema_builder = m.schema.as_ref().map(|s| quote!(.schema(#s)));

    // ---- typed columns and relationship descriptors
    let col_consts = m.columns.iter().map(|c| {
        let f = &c.field;
        let ty = &c.ty;
        let name = &c.name;
        if c.deferred.is_some() {
            let doc = format!("The `{name}` column (a `Deferred` field), for queries and `defer`/`undefer`: `{model_name}::{f}.eq(...)`.");
            return quote!(#[doc = #doc] pub const #f: #cs::Column<#ident, #ty, #cs::Deferrable> = #cs::Column::new(#name););
        }
        let doc = format!("The `{name}` column, for queries: `{model_name}::{f}.eq(...)`.");
        quote!(#[doc = #doc] pub const #f: #cs::Column<#ident, #ty> = #cs::Column::new(#name);)
    });
    let rel_consts = m.relationships.iter().map(|r| {
        let f = &r.field;
        let vt = &r.value_ty;
        let name = f.unraw().to_string();
        let doc = format!("The `{name}` relationship, for loader options.");
        quote!(#[doc = #doc] pub const #f: #cs::Relationship<#ident, #vt> = #cs::Relationship::new(#name);)
    });

    // ---- the primary key
    let pk: Vec<&ColumnDef> = m.columns.iter().filter(|c| c.primary_key).collect();
    // A one-column key is kept inline as the identity of loaded objects.
    let mut identity_key = quote!();
    let (pk_ty, pk_expr, key_values) = match pk.as_slice() {
        [one] => {
            let (f, ty) = (&one.field, &one.ty);
            identity_key = quote! {
                fn identity_key(key: &Self::PrimaryKey) -> #cs::IdKey {
                    #cs::IdKey::One(#cs::Value::from(::core::clone::Clone::clone(key)))
                }
            };
            (
                quote!(#ty),
                quote!(::core::clone::Clone::clone(&self.#f)),
                quote!(::std::vec![#cs::Value::from(::core::clone::Clone::clone(key))]),
            )
        }
        many => {
            let tys = many.iter().map(|c| &c.ty);
            let fs = many.iter().map(|c| &c.field);
            let idx = (0..many.len()).map(syn::Index::from);
            (
                quote!((#(#tys,)*)),
                quote!((#(::core::clone::Clone::clone(&self.#fs),)*)),
                quote!(::std::vec![#(#cs::Value::from(::core::clone::Clone::clone(&key.#idx))),*]),
            )
        }
    };

    // ---- column metadata, decoding, values
    let infos = m.columns.iter().map(|c| {
        let (name, field, pkf, generated, sd, version) =
            (&c.name, c.field.unraw().to_string(), c.primary_key, c.generated, c.server_default.is_some(), c.version);
        let (deferrable, deferred) = (c.deferred.is_some(), c.deferred == Some(true));
        let group = match &c.group {
            Some(g) => quote!(::core::option::Option::Some(#g)),
            None => quote!(::core::option::Option::None),
        };
        quote!(#cs::ColumnInfo { name: #name, field: #field, primary_key: #pkf, generated: #generated, server_default: #sd, version: #version, deferrable: #deferrable, deferred: #deferred, group: #group })
    });
    let ncols = m.columns.len();
    // A model with `Deferred` fields decodes rows that may leave some columns out
    // (`skip`): a column's place in the row is counted past the columns left out.
    let has_deferred = m.columns.iter().any(|c| c.deferred.is_some());
    let at = |i: usize| -> TokenStream {
        if has_deferred {
            quote!(offset + #cs::position(#i, skip))
        } else {
            quote!(offset + #i)
        }
    };
    let decodes: Vec<TokenStream> = m
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (f, ty) = (&c.field, &c.ty);
            let fname = f.unraw().to_string();
            let pos = at(i);
            if c.deferred.is_some() {
                let qualified = format!("{model_name}.{fname}");
                quote!(#f: if skip & (1u64 << #i) == 0 {
                    #cs::Deferred::new(#cs::decode::<#ty>(row, #pos, #model_name, #fname)?)
                } else {
                    #cs::Deferred::unloaded(#qualified)
                })
            } else {
                quote!(#f: #cs::decode::<#ty>(row, #pos, #model_name, #fname)?)
            }
        })
        .collect();
    let rel_inits_with = |ctor: TokenStream| -> Vec<TokenStream> {
        m.relationships
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let f = &r.field;
                quote!(#f: #cs::Related::#ctor(&<#ident as #cs::ModelMeta>::RELATIONSHIPS[#i]))
            })
            .collect()
    };
    let rel_inits = rel_inits_with(quote!(unloaded));
    let rel_new = rel_inits_with(quote!(empty));
    let skip_inits: Vec<TokenStream> = m
        .skipped
        .iter()
        .map(|f| quote!(#f: ::core::default::Default::default()))
        .collect();
    let field_value = |c: &ColumnDef| -> TokenStream {
        let f = &c.field;
        if c.deferred.is_some() {
            quote!(#cs::deferred_value(&self.#f))
        } else {
            quote!(#cs::Value::from(::core::clone::Clone::clone(&self.#f)))
        }
    };
    let values: Vec<TokenStream> = m.columns.iter().map(field_value).collect();

    let column_names: Vec<&String> = m.columns.iter().map(|c| &c.name).collect();

    // ---- relationships
    let own_fks = quote!(<#ident as #cs::ModelMeta>::FOREIGN_KEYS);
    let rel_infos = m.relationships.iter().map(|r| relationship_info(m, r));
    let checks = m
        .relationships
        .iter()
        .map(|r| relationship_checks(m, r, &own_fks));

    // ---- per-column and per-relationship access for the session
    let key_from_row = {
        let reads: Vec<TokenStream> = m
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, c)| {
                let ty = &c.ty;
                let fname = c.field.unraw().to_string();
                let pos = at(i);
                quote!(#cs::decode::<#ty>(row, #pos, #model_name, #fname))
            })
            .collect();
        match reads.as_slice() {
            [one] => quote!(#one),
            many => quote!(::core::result::Result::Ok((#(#many?,)*))),
        }
    };
    let key_from_values = {
        let reads: Vec<TokenStream> = m
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .enumerate()
            .map(|(k, c)| {
                let ty = &c.ty;
                let fname = c.field.unraw().to_string();
                quote!(#cs::from_value::<#ty>(
                    ::core::clone::Clone::clone(values.get(#k).unwrap_or(&#cs::Value::Null)),
                    #model_name,
                    #fname,
                ))
            })
            .collect();
        match reads.as_slice() {
            [one] => quote!(#one),
            many => quote!(::core::result::Result::Ok((#(#many?,)*))),
        }
    };
    let column_value_arms = m.columns.iter().enumerate().map(|(i, c)| {
        let v = field_value(c);
        quote!(#i => #v)
    });
    let set_column_arms = m.columns.iter().enumerate().map(|(i, c)| {
        let (f, ty) = (&c.field, &c.ty);
        let fname = c.field.unraw().to_string();
        if c.deferred.is_some() {
            quote!(#i => self.#f = #cs::Deferred::new(#cs::from_value::<#ty>(value, #model_name, #fname)?))
        } else {
            quote!(#i => self.#f = #cs::from_value::<#ty>(value, #model_name, #fname)?)
        }
    });
    let unset_arms = m
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.generated || c.server_default.is_some() || c.version)
        .map(|(i, c)| {
            let (f, ty) = (&c.field, &c.ty);
            if c.deferred.is_some() {
                quote!(#i => self.#f.as_option().is_some_and(|v| *v == <#ty as ::core::default::Default>::default()))
            } else {
                quote!(#i => self.#f == <#ty as ::core::default::Default>::default())
            }
        });
    let rel_arms = m.relationships.iter().enumerate().map(|(i, r)| {
        let f = &r.field;
        quote!(#i => self.#f.core())
    });
    let rel_mut_arms = m.relationships.iter().enumerate().map(|(i, r)| {
        let f = &r.field;
        quote!(#i => self.#f.core_mut())
    });

    // ---- constructor
    let required: Vec<&ColumnDef> = m
        .columns
        .iter()
        .filter(|c| {
            !c.generated
                && c.inner.is_none()
                && c.default.is_none()
                && c.server_default.is_none()
                && !c.version
        })
        .collect();
    let params = required.iter().map(|c| {
        let (f, ty) = (&c.field, &c.ty);
        quote!(#f: impl ::core::convert::Into<#ty>)
    });
    let inits = m.columns.iter().map(|c| {
        let (f, ty) = (&c.field, &c.ty);
        let wrap = |v: TokenStream| {
            if c.deferred.is_some() {
                quote!(#cs::Deferred::new(#v))
            } else {
                v
            }
        };
        if required.iter().any(|r| r.field == c.field) {
            let v = wrap(quote!(::core::convert::Into::<#ty>::into(#f)));
            quote!(#f: #v)
        } else if let Some(d) = &c.default {
            let d = default_value(d);
            let v = wrap(quote!(::core::convert::Into::<#ty>::into(#d)));
            quote!(#f: #v)
        } else {
            quote!(#f: ::core::default::Default::default())
        }
    });
    let (from_row_fns, key_from_row_fns) = if has_deferred {
        let (mut unloaded_arms, mut unload_arms) = (Vec::new(), Vec::new());
        for (i, c) in m.columns.iter().enumerate() {
            if c.deferred.is_none() {
                continue;
            }
            let f = &c.field;
            let qualified = format!("{model_name}.{}", f.unraw());
            unloaded_arms.push(quote!(if !self.#f.is_loaded() { mask |= 1u64 << #i; }));
            unload_arms.push(quote!(#i => self.#f = #cs::Deferred::unloaded(#qualified)));
        }
        (
            quote! {
                fn from_row(row: &#cs::Row, offset: usize) -> #cs::Result<Self> {
                    Self::from_row_skip(row, offset, 0)
                }

                fn from_row_skip(row: &#cs::Row, offset: usize, skip: u64) -> #cs::Result<Self> {
                    ::core::result::Result::Ok(Self {
                        #(#decodes,)*
                        #(#rel_inits,)*
                        #(#skip_inits,)*
                    })
                }

                fn unloaded_columns(&self) -> u64 {
                    let mut mask = 0u64;
                    #(#unloaded_arms)*
                    mask
                }

                fn unload_column(&mut self, i: usize) {
                    match i {
                        #(#unload_arms,)*
                        _ => {}
                    }
                }
            },
            quote! {
                fn key_from_row(row: &#cs::Row, offset: usize) -> #cs::Result<Self::PrimaryKey> {
                    Self::key_from_row_skip(row, offset, 0)
                }

                fn key_from_row_skip(row: &#cs::Row, offset: usize, skip: u64) -> #cs::Result<Self::PrimaryKey> {
                    #key_from_row
                }
            },
        )
    } else {
        (
            quote! {
                fn from_row(row: &#cs::Row, offset: usize) -> #cs::Result<Self> {
                    ::core::result::Result::Ok(Self {
                        #(#decodes,)*
                        #(#rel_inits,)*
                        #(#skip_inits,)*
                    })
                }
            },
            quote! {
                fn key_from_row(row: &#cs::Row, offset: usize) -> #cs::Result<Self::PrimaryKey> {
                    #key_from_row
                }
            },
        )
    };
    let new_doc = format!(
        "A new `{model_name}` that is not in the database yet: generated keys, server defaults and version counters are left to the database, relationships unloaded."
    );

    quote! {
        #[allow(non_upper_case_globals)] // the descriptors are named like the fields they map
        impl #ident {
            #(#col_consts)*
            #(#rel_consts)*

            #[doc = #new_doc]
            #[allow(clippy::too_many_arguments)] // one argument per required column
            pub fn new(#(#params),*) -> Self {
                Self {
                    #(#inits,)*
                    #(#rel_new,)*
                    #(#skip_inits,)*
                }
            }
        }

        impl #cs::HasTable for #ident {
            const TABLE_NAME: &'static str = #table;
            const SCHEMA: ::core::option::Option<&'static str> = #schema;
            fn table() -> #cs::Arc<#cs::Table> {
                static TABLE: #cs::OnceLock<#cs::Arc<#cs::Table>> = #cs::OnceLock::new();
                #cs::Arc::clone(TABLE.get_or_init(|| {
                    #cs::Arc::new(#cs::Table::new(#table) #schema_builder #(#builders)*)
                }))
            }
        }

        impl #cs::ModelMeta for #ident {
            const FOREIGN_KEYS: &'static [#cs::FkInfo] = &[#(#fk_infos),*];
            const COLUMN_NAMES: &'static [&'static str] = &[#(#column_names),*];
            const RELATIONSHIPS: &'static [#cs::RelationshipInfo] = &[#(#rel_infos),*];
        }

        impl #cs::RelatedTarget for #ident {
            type Target = #ident;
            const COLLECTION: bool = false;
        }

        #events_impl

        impl #cs::FromRowAt for #ident {
            fn width() -> usize {
                <#ident as #cs::Model>::columns().len()
            }
            fn from_row_at(row: &#cs::Row, offset: usize) -> #cs::Result<Self> {
                <#ident as #cs::Model>::from_row(row, offset)
            }
        }

        impl #cs::Model for #ident {
            type PrimaryKey = #pk_ty;
            const MODEL_NAME: &'static str = #model_name;

            fn columns() -> &'static [#cs::ColumnInfo] {
                static COLUMNS: [#cs::ColumnInfo; #ncols] = [#(#infos),*];
                &COLUMNS
            }

            fn relationships() -> &'static [#cs::RelationshipInfo] {
                <Self as #cs::ModelMeta>::RELATIONSHIPS
            }

            fn primary_key(&self) -> Self::PrimaryKey {
                #pk_expr
            }

            fn key_values(key: &Self::PrimaryKey) -> ::std::vec::Vec<#cs::Value> {
                #key_values
            }

            #identity_key

            #[inline]
            #[allow(clippy::needless_borrow)]
            fn key_cmp(
                a: &Self::PrimaryKey,
                b: &Self::PrimaryKey,
            ) -> ::core::option::Option<::core::cmp::Ordering> {
                #[allow(unused_imports)]
                use #cs::{KeyOrd as _, KeyUnordered as _};
                (&#cs::KeyPair(a, b)).key_cmp()
            }

            #from_row_fns

            fn values(&self) -> ::std::vec::Vec<#cs::Value> {
                ::std::vec![#(#values),*]
            }

            fn sql(dialect: #cs::Dialect) -> &'static #cs::ModelSql {
                static SQL: #cs::ModelSqlCache = #cs::ModelSqlCache::new();
                SQL.get::<Self>(dialect)
            }

            #key_from_row_fns

            fn key_from_values(values: &[#cs::Value]) -> #cs::Result<Self::PrimaryKey> {
                #key_from_values
            }

            fn column_value(&self, i: usize) -> #cs::Value {
                match i {
                    #(#column_value_arms,)*
                    _ => #cs::Value::Null,
                }
            }

            fn set_column_value(&mut self, i: usize, value: #cs::Value) -> #cs::Result<()> {
                match i {
                    #(#set_column_arms,)*
                    _ => {}
                }
                ::core::result::Result::Ok(())
            }

            fn column_is_unset(&self, i: usize) -> bool {
                match i {
                    #(#unset_arms,)*
                    _ => false,
                }
            }

            fn vtable() -> &'static #cs::ModelVTable {
                const { &#cs::ModelVTable::of::<#ident>() }
            }

            fn relationship(&self, i: usize) -> &#cs::RelatedCore {
                match i {
                    #(#rel_arms,)*
                    _ => #cs::no_relationship(#model_name, i),
                }
            }

            fn relationship_mut(&mut self, i: usize) -> &mut #cs::RelatedCore {
                match i {
                    #(#rel_mut_arms,)*
                    _ => #cs::no_relationship(#model_name, i),
                }
            }
        }

        #(#checks)*
    }
}

/// True when `ty` names the model itself (`Node` or `Self` inside `Node`).
fn is_self(m: &ModelDef, ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.is_ident(&m.ident) || p.path.is_ident("Self"),
        _ => false,
    }
}

fn str_list(items: &[String]) -> TokenStream {
    quote!(&[#(#items),*])
}

fn relationship_info(m: &ModelDef, r: &RelationshipDef) -> TokenStream {
    let cs = cs();
    let ident = &m.ident;
    let target = &r.target;
    let name = r.field.unraw().to_string();
    let qualified = format!("{ident}.{name}");
    let fks = str_list(&r.foreign_keys);
    let kind = match (r.shape, &r.secondary) {
        (Shape::Many, Some(_)) => quote!(#cs::RelationshipKind::ManyToMany),
        (Shape::Many, None) => quote!(#cs::RelationshipKind::OneToMany),
        // Self-referential with `remote_side`, as SQLAlchemy reads it: naming this model's
        // foreign-key columns as the remote side means the other row holds the key.
        _ if is_self(m, &r.target) && !r.remote_side.is_empty() => {
            let local_fk_columns: Vec<String> = m
                .columns
                .iter()
                .filter(|c| c.foreign_key.is_some())
                .map(|c| c.name.clone())
                .chain(
                    m.foreign_keys
                        .iter()
                        .flat_map(|fk| fk.columns.iter().map(LitStr::value)),
                )
                .collect();
            if r.remote_side.iter().all(|c| local_fk_columns.contains(c)) {
                quote!(#cs::RelationshipKind::OneToOne)
            } else {
                quote!(#cs::RelationshipKind::ManyToOne)
            }
        }
        _ => quote! {
            if #cs::count_foreign_keys(<#ident as #cs::ModelMeta>::FOREIGN_KEYS, <#target as #cs::HasTable>::TABLE_NAME, #fks) > 0 {
                #cs::RelationshipKind::ManyToOne
            } else {
                #cs::RelationshipKind::OneToOne
            }
        },
    };
    let secondary = match &r.secondary {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let back = match &r.back_populates {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let order_by = str_list(&r.order_by);
    let remote_side = str_list(&r.remote_side);
    let lazy = match r.lazy.as_deref() {
        Some("selectin") => quote!(Selectin),
        Some("joined") => quote!(Joined),
        Some("subquery") => quote!(Subquery),
        Some("noload") => quote!(NoLoad),
        Some("raise") => quote!(Raise),
        _ => quote!(Explicit),
    };
    let cascade = match &r.cascade {
        None => {
            quote!(#cs::Cascade { save_update: true, merge: true, delete: false, delete_orphan: false, expunge: false, refresh_expire: false })
        }
        Some(s) => {
            let parts: Vec<&str> = s.split(',').map(str::trim).collect();
            let all = parts.contains(&"all");
            let has = |p: &str| all && p != "delete-orphan" || parts.contains(&p);
            let (su, me, de, dor, ex, re) = (
                has("save-update"),
                has("merge"),
                has("delete"),
                parts.contains(&"delete-orphan"),
                has("expunge"),
                has("refresh-expire"),
            );
            quote!(#cs::Cascade { save_update: #su, merge: #me, delete: #de, delete_orphan: #dor, expunge: #ex, refresh_expire: #re })
        }
    };
    let passive = r.passive_deletes;
    let post_update = r.post_update;
    quote! {
        #cs::RelationshipInfo {
            name: #name,
            qualified_name: #qualified,
            kind: #kind,
            target_model: <#target as #cs::Model>::MODEL_NAME,
            target_table: <#target as #cs::HasTable>::table,
            secondary: #secondary,
            foreign_keys: #fks,
            back_populates: #back,
            order_by: #order_by,
            lazy: #cs::LoadStrategy::#lazy,
            cascade: #cascade,
            passive_deletes: #passive,
            post_update: #post_update,
            remote_side: #remote_side,
            target_vtable: <#target as #cs::Model>::vtable,
        }
    }
}

fn relationship_checks(m: &ModelDef, r: &RelationshipDef, own_fks: &TokenStream) -> TokenStream {
    let cs = cs();
    let ident = &m.ident;
    let target = &r.target;
    let target_name = quote!(#target).to_string().replace(' ', "");
    let field = &r.field;
    let fks = str_list(&r.foreign_keys);
    let rel = format!("{ident}.{}", field.unraw());
    let named = if r.foreign_keys.is_empty() {
        String::new()
    } else {
        format!(" among `{}`", r.foreign_keys.join(", "))
    };
    let mut out = TokenStream::new();
    match (r.shape, &r.secondary) {
        // Many-to-many: the association table is not a model; checked when the MetaData
        // is configured.
        (Shape::Many, Some(_)) => {}
        (Shape::Many, None) => {
            let missing = format!(
                "relationship `{rel}`: no foreign key{named} on `{target_name}` references the table of `{ident}`; add `#[orm(foreign_key = \"{}.<column>\")]` to a field of `{target_name}`, or use `secondary` for many-to-many",
                m.table
            );
            let ambiguous = format!(
                "relationship `{rel}`: several foreign keys on `{target_name}` reference the table of `{ident}`; name the one to use with `#[relationship(foreign_keys = \"<column>\")]`"
            );
            out.extend(quote_spanned! {r.span=>
                const _: () = ::orm::codegen_support::check_foreign_keys(
                    <#target as ::orm::codegen_support::ModelMeta>::FOREIGN_KEYS,
                    <#ident as ::orm::codegen_support::HasTable>::TABLE_NAME,
                    #fks,
                    #missing,
                    #ambiguous,
                );
            });
        }
        _ => {
            let missing = format!(
                "relationship `{rel}`: no foreign key{named} links `{ident}` and `{target_name}`; add `#[orm(foreign_key = \"<table>.<column>\")]` on one side"
            );
            let ambiguous = format!(
                "relationship `{rel}`: several foreign keys link `{ident}` and `{target_name}`; name the one to use with `#[relationship(foreign_keys = \"<column>\")]`"
            );
            out.extend(quote_spanned! {r.span=>
                const _: () = ::orm::codegen_support::check_single(
                    #own_fks,
                    <#target as ::orm::codegen_support::ModelMeta>::FOREIGN_KEYS,
                    <#target as ::orm::codegen_support::HasTable>::TABLE_NAME,
                    <#ident as ::orm::codegen_support::HasTable>::TABLE_NAME,
                    #fks,
                    #missing,
                    #ambiguous,
                );
            });
        }
    }
    // Columns named by `remote_side` and `order_by` are columns of the target.
    let named = r
        .remote_side
        .iter()
        .map(|c| ("remote_side", c.as_str()))
        .chain(
            r.order_by
                .iter()
                .map(|c| ("order_by", c.trim_start_matches('-'))),
        );
    for (attr, column) in named {
        let message = format!(
            "relationship `{rel}`: `{attr}` names `{column}`, which is not a column of `{target_name}`"
        );
        out.extend(quote_spanned! {r.span=>
            const _: () = ::orm::codegen_support::check_column(
                <#target as ::orm::codegen_support::ModelMeta>::COLUMN_NAMES,
                #column,
                #message,
            );
        });
    }
    if let Some(bp) = &r.back_populates {
        // `type` and `r#type` both name a field `r#type`.
        let value = bp.value();
        let bare = value.strip_prefix("r#").unwrap_or(&value).to_owned();
        let parsed = syn::parse_str::<Ident>(&bare)
            .or_else(|_| syn::parse_str::<Ident>(&format!("r#{bare}")));
        let other = match parsed {
            Ok(mut i) => {
                i.set_span(bp.span());
                i
            }
            Err(_) => {
                return syn::Error::new_spanned(
                    bp,
                    "`back_populates` names a relationship field of the target model",
                )
                .to_compile_error();
            }
        };
        let check_fn = format_ident!("__orm_back_populates_{}", field);
        out.extend(quote_spanned! {bp.span()=>
            const _: () = {
                #[allow(dead_code, non_snake_case)] // only type-checked, never called
                fn #check_fn() {
                    #cs::back_populates::<#ident, #target, _>(<#target>::#other);
                }
            };
        });
    }
    out
}

/// Impls that stand in for a model whose derive failed (the build fails anyway, with
/// the real errors); their bodies never run.
pub fn fallback(ident: &Ident, user_events: bool) -> TokenStream {
    let cs = cs();
    let events_impl = if user_events {
        TokenStream::new()
    } else {
        quote!(impl #cs::ModelEvents for #ident {})
    };
    let name = ident.to_string();
    quote! {
        impl #cs::HasTable for #ident {
            const TABLE_NAME: &'static str = "";
            fn table() -> #cs::Arc<#cs::Table> {
                ::core::panic!("the derive of this model failed")
            }
        }
        impl #cs::ModelMeta for #ident {
            const FOREIGN_KEYS: &'static [#cs::FkInfo] = &[];
            const COLUMN_NAMES: &'static [&'static str] = &[];
            const RELATIONSHIPS: &'static [#cs::RelationshipInfo] = &[];
        }
        impl #cs::RelatedTarget for #ident {
            type Target = #ident;
            const COLLECTION: bool = false;
        }
        #events_impl
        impl #cs::Model for #ident {
            type PrimaryKey = ();
            const MODEL_NAME: &'static str = #name;
            fn columns() -> &'static [#cs::ColumnInfo] {
                &[]
            }
            fn relationships() -> &'static [#cs::RelationshipInfo] {
                &[]
            }
            fn primary_key(&self) -> Self::PrimaryKey {}
            fn key_values(_: &Self::PrimaryKey) -> ::std::vec::Vec<#cs::Value> {
                ::std::vec::Vec::new()
            }
            fn from_row(_: &#cs::Row, _: usize) -> #cs::Result<Self> {
                ::core::panic!("the derive of this model failed")
            }
            fn values(&self) -> ::std::vec::Vec<#cs::Value> {
                ::std::vec::Vec::new()
            }
            fn sql(_: #cs::Dialect) -> &'static #cs::ModelSql {
                ::core::panic!("the derive of this model failed")
            }
            fn key_from_row(_: &#cs::Row, _: usize) -> #cs::Result<Self::PrimaryKey> {
                ::core::result::Result::Ok(())
            }
            fn key_from_values(_: &[#cs::Value]) -> #cs::Result<Self::PrimaryKey> {
                ::core::result::Result::Ok(())
            }
            fn column_value(&self, _: usize) -> #cs::Value {
                #cs::Value::Null
            }
            fn set_column_value(&mut self, _: usize, _: #cs::Value) -> #cs::Result<()> {
                ::core::result::Result::Ok(())
            }
            fn column_is_unset(&self, _: usize) -> bool {
                false
            }
            fn vtable() -> &'static #cs::ModelVTable {
                const { &#cs::ModelVTable::of::<#ident>() }
            }
            fn relationship(&self, i: usize) -> &#cs::RelatedCore {
                #cs::no_relationship(#name, i)
            }
            fn relationship_mut(&mut self, i: usize) -> &mut #cs::RelatedCore {
                #cs::no_relationship(#name, i)
            }
        }
    }
}
