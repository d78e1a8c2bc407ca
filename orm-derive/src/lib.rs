//! Proc macros of the [`orm`](https://docs.rs/orm) crate. Semver-exempt: depend on
//! `orm`, which re-exports them.
//!
//! The work is split as serde's derive splits it: `attr` parses attributes, `model`
//! builds and checks the model of the struct, `expand` generates code.
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
    let ast: syn::DeriveInput = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(e) => return e.into_compile_error(),
    };
    let ident = ast.ident.clone();
    let generic = !ast.generics.params.is_empty();
    // Whether the user implements `ModelEvents` (so a failed derive does not add a
    // second impl): any `events` inside `#[orm(...)]` on the struct.
    let user_events = ast.attrs.iter().any(|a| {
        a.path().is_ident("orm")
            && a.meta.require_list().is_ok_and(|l| {
                l.tokens
                    .to_string()
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == "events")
            })
    });
    match model::from_ast(ast) {
        Ok(m) => expand::model(&m),
        // With the errors, stub impls: the user sees what is wrong with this struct, not
        // a wall of "trait not implemented" wherever the model is used.
        Err(e) if !generic => {
            let mut out = e.into_compile_error();
            out.extend(expand::fallback(&ident, user_events));
            out
        }
        Err(e) => e.into_compile_error(),
    }
}
