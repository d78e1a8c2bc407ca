//! `MetaData`: a collection of tables, found by name and created or dropped together.

use std::sync::Arc;

use super::table::Table;
use crate::error::{Error, Result};

/// A collection of [`Table`]s: what `create_all` creates and `reflect` fills.
///
/// Tables are shared (`Arc<Table>`) so statements can refer to them cheaply.
#[derive(Debug, Clone, Default)]
pub struct MetaData {
    tables: Vec<Arc<Table>>,
}

impl MetaData {
    /// An empty collection.
    pub fn new() -> MetaData {
        MetaData::default()
    }

    /// Adds a table (builder style).
    pub fn with_table(mut self, table: Table) -> MetaData {
        self.add_table(table);
        self
    }

    /// Adds a table, replacing one of the same schema and name; returns the shared table.
    pub fn add_table(&mut self, table: Table) -> Arc<Table> {
        let table = Arc::new(table);
        match self
            .tables
            .iter_mut()
            .find(|t| t.schema == table.schema && t.name == table.name)
        {
            Some(slot) => *slot = Arc::clone(&table),
            None => self.tables.push(Arc::clone(&table)),
        }
        table
    }

    /// The tables in the order they were added.
    pub fn tables(&self) -> &[Arc<Table>] {
        &self.tables
    }

    /// The table called `name` (`"schema.name"` for one in a schema), or
    /// [`Error::UnknownTable`].
    pub fn table(&self, name: &str) -> Result<Arc<Table>> {
        self.get_table(name).ok_or_else(|| Error::UnknownTable {
            table: name.to_owned(),
            available: self
                .tables
                .iter()
                .map(|t| t.full_name())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The table called `name` (`"schema.name"` for one in a schema), if any.
    pub fn get_table(&self, name: &str) -> Option<Arc<Table>> {
        self.tables
            .iter()
            .find(|t| t.full_name() == name || t.name == name)
            .cloned()
    }
}
