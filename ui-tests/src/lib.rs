//! The trybuild harness is `ui.rs`; cases are under `fail/` and `pass/`.
