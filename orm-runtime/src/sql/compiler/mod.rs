//! The compiler: statement trees to SQL text and binds, one dialect at a time.

mod expr;

pub(crate) use expr::{Compiler, collect_qualifiers};
