//! Proc macros of the [`orm`](https://docs.rs/orm) crate. Semver-exempt: depend on
//! `orm`, which re-exports them.
//!
//! The work is split as serde's derive splits it: [`attr`] parses attributes, [`model`]
//! builds and checks the model of the struct, [`expand`] generates code.
#![warn(missing_docs)]

mod attr;
mod expand;
mod model;

use proc_macro::TokenStream;

/// Maps a struct to a table; see the `orm` crate's documentation of `Model` for the
/// attributes.
#[proc_macro_derive(Model, attributes(orm, relationship))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    derive_model_inner(input.into()).into()
}

fn derive_model_inner(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    syn::parse2(input)
        .and_then(model::from_ast)
        .map(|m| expand::model(&m))
        .unwrap_or_else(syn::Error::into_compile_error)
}
