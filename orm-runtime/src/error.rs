//! The one error type of the crate, [`Error`], and its [`Result`] alias.

use std::time::Duration;

/// Represents all the ways an ORM operation can fail.
///
/// Every variant carries what is needed to say *what* failed and *where*:
/// the URL (with its password hidden), the column, the constraint, the SQLSTATE.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL given to [`create_engine`](crate::engine::create_engine) or
    /// [`Engine::builder`](crate::engine::Engine::builder) could not be understood.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A new connection to the database could not be opened (refused, unknown host,
    /// authentication failed, unknown database, ...).
    #[error("could not connect to `{url}`: {source}")]
    Connect {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The engine's [`after_connect`](crate::engine::EngineBuilder::after_connect) hook
    /// failed on a new connection: the connection is closed, and the checkout that
    /// opened it fails with this error.
    #[error("the after-connect hook failed on a new connection to `{url}`: {source}")]
    AfterConnect {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The hook's error.
        #[source]
        source: Box<Error>,
    },

    /// A transaction's connection was closed under it, so the transaction is gone (the
    /// server rolls it back): a statement of it was cancelled mid-flight (its future was
    /// dropped by a timeout or `select!`) or failed with an I/O error. Roll back (a
    /// no-op) and begin a new transaction. A plain [`Connection`](crate::Connection)
    /// outside a transaction opens a new connection instead.
    #[error(
        "the transaction's connection was closed because {reason}; the transaction is lost \
         (the server rolls it back): roll back and begin a new one"
    )]
    ConnectionInvalidated {
        /// Why the connection was closed.
        reason: &'static str,
    },

    /// `commit()` of a PostgreSQL transaction in which a statement had failed: PostgreSQL
    /// aborts a transaction at its first error (and answers a later `COMMIT` with a
    /// silent `ROLLBACK`), so nothing of it was committed. The transaction has been
    /// rolled back. To go on after an expected failure, run the statement inside a
    /// [`savepoint`](crate::Transaction::savepoint) and roll that back.
    #[error(
        "the transaction was rolled back, not committed: a statement in it failed ({cause}) \
         and PostgreSQL aborts a transaction at its first error; use a savepoint around a \
         statement that may fail"
    )]
    TransactionAborted {
        /// The database's message for the statement that failed first.
        cause: String,
    },

    /// The database ended the transaction when a statement in it failed, even when that
    /// error was caught: MySQL/MariaDB roll the whole transaction back for a deadlock
    /// (or a lock wait timeout with `innodb_rollback_on_timeout` on); SQLite for a full
    /// disk or an I/O error, or when a statement run inside the transaction ended it
    /// (`ROLLBACK`, `COMMIT`). The database would run every later statement outside
    /// any transaction, committing each at once; so they are refused, and COMMIT is
    /// this error. Roll back and run the transaction again.
    #[error(
        "the transaction was ended by the database, not committed: {cause}; roll back \
         and run the transaction again"
    )]
    TransactionRolledBack {
        /// The database's message for the statement that ended the transaction.
        cause: String,
    },

    /// No connection could be checked out of the pool within `pool_timeout`.
    #[error(
        "timed out after {timeout:?} waiting for a connection from the pool \
         (size {pool_size}, overflow {max_overflow}); raise `pool_size`/`max_overflow` \
         or return connections sooner"
    )]
    PoolTimeout {
        /// The configured `pool_timeout`.
        timeout: Duration,
        /// The configured `pool_size`.
        pool_size: u32,
        /// The configured `max_overflow`.
        max_overflow: u32,
    },

    /// The database rejected a statement: see [`DatabaseError`] for the SQLSTATE /
    /// error code and the constraint involved.
    #[error("{0}")]
    Database(Box<DatabaseError>),

    /// A column's value could not be turned into the requested Rust type.
    #[error("cannot decode column `{column}` of SQL type {sql_type} as `{rust_type}`: {message}")]
    Decode {
        /// The column's name (or `#index` when it has none).
        column: String,
        /// The Rust type that was asked for.
        rust_type: &'static str,
        /// The column's type as the database reported it.
        sql_type: String,
        /// Why the conversion failed.
        message: String,
    },

    /// A row was asked for a column it does not have.
    #[error("no column `{column}` in the row; it has: {available}")]
    ColumnNotFound {
        /// The name that was asked for.
        column: String,
        /// The row's column names, comma separated.
        available: String,
    },

    /// A row was asked for a column by a name that several of its columns have (`SELECT
    /// a.id, b.id`): read it by position, or label the columns apart.
    #[error(
        "column name `{column}` is ambiguous: the row has it at positions {}; read it by \
         position or give the columns distinct labels",
        positions.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousColumn {
        /// The name asked for.
        column: String,
        /// The zero-based positions of the columns with that name.
        positions: Vec<usize>,
    },

    /// A row was asked for a column index past its end.
    #[error("column index {index} is out of range for a row of {len} columns")]
    ColumnIndexOutOfBounds {
        /// The index that was asked for.
        index: usize,
        /// How many columns the row has.
        len: usize,
    },

    /// A value could not be bound as a statement parameter.
    #[error("cannot bind parameter {index} ({value_type}): {message}")]
    Bind {
        /// One-based position of the parameter.
        index: usize,
        /// The kind of value.
        value_type: &'static str,
        /// The driver's reason.
        message: String,
    },

    /// A `text()` statement names a bind parameter that was given no value, or was
    /// given a value for a name it does not contain.
    #[error("bind parameter `:{name}` {problem} in SQL: {}", Shown(sql))]
    BindParameter {
        /// The parameter name.
        name: String,
        /// What is wrong (`has no value`, `does not appear`).
        problem: &'static str,
        /// The statement text.
        sql: String,
    },

    /// SQL text holds a NUL byte, which no database reads as part of a statement (each
    /// takes it for the end of the text); refused before anything is sent. Data with NUL
    /// bytes goes in a bind parameter.
    #[error(
        "the SQL text contains a NUL byte (at byte {offset}); pass such data as a bind parameter"
    )]
    NulInSql {
        /// Byte offset of the first NUL.
        offset: usize,
    },

    /// A [`MetaData`](crate::schema::MetaData) was asked for a table it does not hold.
    #[error("no table `{table}` in the metadata; it has: {available}")]
    UnknownTable {
        /// The name asked for.
        table: String,
        /// The tables it does have, comma separated.
        available: String,
    },

    /// A table was asked for a column it does not have.
    #[error("table `{table}` has no column `{column}`; it has: {available}")]
    UnknownColumn {
        /// The table's name.
        table: String,
        /// The column asked for.
        column: String,
        /// Its columns, comma separated.
        available: String,
    },

    /// A join without an ON condition found no foreign key to infer it from, or more
    /// than one.
    #[error("cannot join `{right}` to {left}: {reason}")]
    JoinCondition {
        /// The tables already in FROM.
        left: String,
        /// The joined table.
        right: String,
        /// Why no condition was inferred.
        reason: &'static str,
    },

    /// A statement was built inconsistently (rows of a multi-row INSERT that set
    /// different columns, an UPDATE that sets nothing).
    #[error("invalid statement on `{table}`: {message}")]
    InvalidStatement {
        /// The statement's table.
        table: String,
        /// What is wrong.
        message: String,
    },

    /// [`func::call`](crate::sql::func::call) was given a name that is not a function
    /// name (it is written into the SQL unquoted, so only a plain or schema-qualified
    /// name is accepted).
    #[error(
        "`{name}` is not a function name: use letters, digits, `_` and `$` (not first), \
         with `.` between schema and name"
    )]
    InvalidFunctionName {
        /// The name given.
        name: String,
    },

    /// A relationship was read before it was loaded.
    #[error(
        "relationship `{relationship}` is not loaded; load it with a loader option or session.load()"
    )]
    NotLoaded {
        /// `Model.field`.
        relationship: &'static str,
    },

    /// A [`Deferred`](crate::model::Deferred) column was read before it was loaded.
    #[error(
        "column `{column}` is not loaded: it was deferred; load it with undefer(...) or load_only(...) in the query, or session.load_columns()"
    )]
    ColumnNotLoaded {
        /// `Model.field`.
        column: &'static str,
    },

    /// A relationship a query marked `raiseload` was read.
    #[error(
        "relationship `{relationship}` was not loaded: the query marked it raiseload; load it with another loader option or session.load()"
    )]
    RaiseLoad {
        /// `Model.field`.
        relationship: &'static str,
    },

    /// Models' relationships do not fit together (a foreign key is missing or
    /// ambiguous, a `back_populates` does not mirror), found when a `MetaData` is
    /// configured.
    #[error("relationship `{relationship}` to `{target}`: {message}")]
    Relationship {
        /// `Model.field`.
        relationship: String,
        /// The target model.
        target: String,
        /// What is wrong.
        message: String,
    },

    /// The database has no table (or view) of this name: returned by the
    /// [`Inspector`](crate::reflect::Inspector) and by reflection.
    #[error("table `{table}` does not exist in schema `{schema}`; it has: {available}")]
    TableNotFound {
        /// The name asked for.
        table: String,
        /// The schema looked in (PostgreSQL schema, MySQL database, SQLite `main`).
        schema: String,
        /// The tables and views the schema does have, comma separated.
        available: String,
    },

    /// The database has no schema (PostgreSQL schema, MySQL database, SQLite attached
    /// database) of this name.
    #[error("schema `{schema}` does not exist; the database has: {available}")]
    SchemaNotFound {
        /// The name asked for.
        schema: String,
        /// The schemas the database does have, comma separated.
        available: String,
    },

    /// A table definition that cannot be turned into DDL: a key naming a column the
    /// table does not have, a foreign key whose column lists differ in length, ...
    #[error("invalid definition of table `{table}`: {problem}")]
    InvalidTable {
        /// The table's name (`schema.name` when it has a schema).
        table: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A name is longer than the dialect allows (63 bytes on PostgreSQL, 64 characters
    /// on MySQL): refused when DDL or any statement naming it is compiled, since
    /// PostgreSQL would silently truncate it in a query.
    #[error("identifier `{identifier}` is {len} long; {dialect} allows at most {max}")]
    IdentifierTooLong {
        /// The identifier.
        identifier: String,
        /// Its length (bytes on PostgreSQL, characters on MySQL).
        len: usize,
        /// The dialect's limit.
        max: usize,
        /// The dialect name.
        dialect: &'static str,
    },

    /// A name that cannot be an identifier on any database (it holds a NUL byte), found
    /// when a statement naming it is compiled.
    #[error("identifier `{identifier}` is refused: {reason}")]
    InvalidIdentifier {
        /// The identifier, a NUL shown as `\0`.
        identifier: String,
        /// Why.
        reason: &'static str,
    },

    /// A naming-convention template could not be applied.
    #[error("naming convention `{template}` for {kind} on table `{table}`: {problem}")]
    NamingConvention {
        /// The template.
        template: String,
        /// What it names: `ix`, `uq`, `ck`, `fk` or `pk`.
        kind: &'static str,
        /// The table the constraint belongs to.
        table: String,
        /// What went wrong (an unknown token, a token the constraint cannot fill).
        problem: String,
    },

    /// Tables cannot be put in foreign-key order because their foreign keys form a cycle
    /// that nothing breaks; returned by
    /// [`MetaData::try_sorted_tables`](crate::schema::MetaData::try_sorted_tables).
    #[error(
        "foreign keys form a cycle between tables {}; mark one of the foreign keys \
         `use_alter` to break it (create_all and drop_all break such cycles themselves)",
        tables.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
    )]
    CircularDependency {
        /// The tables in the cycle, in metadata order.
        tables: Vec<String>,
    },

    /// A session was asked for something its objects' states do not allow (adding an
    /// object of another session, refreshing a pending one, ...).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong, naming the object.
        message: String,
    },

    /// An object's values are stale (expired by `expire`, a rollback, or a commit with
    /// `expire_on_commit`) and were read: refresh it, or query it again.
    #[error(
        "`{object}` is expired (its `{attribute}` may be stale); refresh it with session.refresh() or query it again"
    )]
    Expired {
        /// `Model(key)`.
        object: String,
        /// The first expired field.
        attribute: &'static str,
    },

    /// `refresh` found no row for the object any more.
    #[error("`{object}` was deleted from the database")]
    ObjectDeleted {
        /// `Model(key)`.
        object: String,
    },

    /// A flush failed (or its future was dropped): the session's transaction was rolled
    /// back and the session must be rolled back before further work (SQLAlchemy's rule).
    #[error(
        "this session's transaction was rolled back because {reason}; call session.rollback() before further work"
    )]
    PendingRollback {
        /// Why.
        reason: String,
    },

    /// An UPDATE or DELETE by primary key (and version) matched another number of rows
    /// than it should: another transaction changed or deleted the row
    /// (optimistic concurrency, `#[orm(version)]`).
    #[error(
        "{operation} of `{object}` expected to match {expected} row(s) but matched {matched}; the row was changed or deleted by another transaction"
    )]
    StaleData {
        /// `UPDATE` or `DELETE`.
        operation: &'static str,
        /// `Model(key)`.
        object: String,
        /// Rows expected.
        expected: u64,
        /// Rows matched.
        matched: u64,
    },

    /// A statement of a flush failed; the session's transaction was rolled back and no
    /// object changed. `source` is the database's error (its constraint, code, table).
    #[error("flush failed at {operation} of `{object}`: {source}")]
    Flush {
        /// `INSERT`, `UPDATE` or `DELETE`.
        operation: &'static str,
        /// `Model(key)`, or `Model(<new>)`/the model and row count for a batch.
        object: String,
        /// The statement's error.
        #[source]
        source: Box<Error>,
    },

    /// `fetch_one` found no row.
    #[error("the statement returned no rows; use fetch_optional if none is acceptable")]
    RowNotFound,

    /// The URL names a database whose driver this build leaves out: each driver is a
    /// cargo feature of `orm` (`postgres`, `mysql`, `sqlite`; all three by default).
    #[error(
        "this build of orm has no {database} driver (URL `{url}`): enable the `{feature}` cargo feature of orm"
    )]
    DriverNotCompiled {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The database: `PostgreSQL`, `MySQL/MariaDB` or `SQLite`.
        database: &'static str,
        /// The cargo feature that compiles its driver in.
        feature: &'static str,
    },

    /// The dialect cannot express this construct.
    #[error("{feature} is not supported by the {dialect} dialect")]
    Unsupported {
        /// The dialect name.
        dialect: &'static str,
        /// What was asked for.
        feature: String,
    },

    /// The server is older than the first version of its dialect that has this construct
    /// (`INSERT ... RETURNING` on MariaDB 10.4, a CTE on MySQL 5.7); see
    /// [`ServerInfo`](crate::ServerInfo).
    #[error("{feature} is not supported by the server, {server}: it needs {needs} or later")]
    UnsupportedByServer {
        /// What was asked for, as SQL spells it.
        feature: &'static str,
        /// The server and its version: `MariaDB 10.4.32`.
        server: String,
        /// The first version that has it: `MariaDB 10.5.0`.
        needs: String,
    },

    /// The connection broke under a statement: the server closed it (a restart, a
    /// `KILL`, an idle timeout) or the network cut it. A plain
    /// [`Connection`](crate::Connection) opens a new one for its next statement; a
    /// transaction on it is gone (the server rolls it back).
    #[error(
        "the connection to the database was lost (closed by the server, killed, or cut by \
         the network): {source}"
    )]
    ConnectionLost {
        /// The driver's error (an I/O error such as an unexpected end of stream).
        #[source]
        source: sqlx::Error,
    },

    /// Any other driver error (protocol, TLS, a closed pool, ...).
    #[error("driver error: {0}")]
    Driver(#[source] sqlx::Error),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of error a [`DatabaseError`] is (which constraint it violated, or a lock
/// conflict), as far as the driver can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseErrorKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    UniqueViolation,
    /// A FOREIGN KEY constraint.
    ForeignKeyViolation,
    /// A NOT NULL constraint.
    NotNullViolation,
    /// A CHECK constraint.
    CheckViolation,
    /// A deadlock the server broke by failing this statement (PostgreSQL `40P01`,
    /// MySQL/MariaDB 1213, which also rolls back the whole transaction).
    Deadlock,
    /// A lock that was not granted in time (PostgreSQL `55P03`, MySQL/MariaDB 1205).
    LockTimeout,
    /// Anything else.
    Other,
}

/// An error the database returned for a statement.
#[derive(Debug)]
pub struct DatabaseError {
    /// The SQLSTATE (PostgreSQL, MySQL/MariaDB) or the extended result code (SQLite),
    /// as text.
    pub code: Option<String>,
    /// The database's own message.
    pub message: String,
    /// The violated constraint's name, where the driver or message gives one. SQLite
    /// names the columns instead (`table.column`), for UNIQUE and NOT NULL alike.
    pub constraint: Option<String>,
    /// The table involved, where the driver gives it (PostgreSQL).
    pub table: Option<String>,
    /// The classification of the error.
    pub kind: DatabaseErrorKind,
    /// The statement that failed, when known.
    pub sql: Option<String>,
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error")?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(c) = &self.constraint {
            write!(f, " (constraint `{c}`")?;
            if let Some(t) = &self.table {
                write!(f, " on table `{t}`")?;
            }
            write!(f, ")")?;
        }
        if let Some(sql) = &self.sql {
            write!(f, "; statement: {}", Shown(sql))?;
        }
        Ok(())
    }
}

/// How much of a statement an error message shows; the error's `sql` field keeps it
/// whole.
const SHOWN_SQL_CHARS: usize = 1000;

/// A statement as an error message shows it: its first [`SHOWN_SQL_CHARS`] characters
/// and how many more there are (a generated statement may have 70,000 placeholders).
struct Shown<'a>(&'a str);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHOWN_SQL_CHARS) {
            None => f.write_str(self.0),
            Some((end, _)) => {
                let more = self.0[end..].chars().count();
                write!(f, "{}... ({more} more characters)", &self.0[..end])
            }
        }
    }
}

impl Error {
    /// The database error, if this is one.
    pub fn as_database_error(&self) -> Option<&DatabaseError> {
        match self {
            Error::Database(e) => Some(e),
            _ => None,
        }
    }

    /// The constraint classification of a database error (`None` for other errors).
    pub fn kind(&self) -> Option<DatabaseErrorKind> {
        self.as_database_error().map(|e| e.kind)
    }

    /// True for a UNIQUE / PRIMARY KEY violation.
    pub fn is_unique_violation(&self) -> bool {
        self.kind() == Some(DatabaseErrorKind::UniqueViolation)
    }

    /// True for a deadlock the server broke by failing this statement: retry the
    /// whole transaction.
    pub fn is_deadlock(&self) -> bool {
        self.kind() == Some(DatabaseErrorKind::Deadlock)
    }

    /// True for a FOREIGN KEY violation.
    pub fn is_foreign_key_violation(&self) -> bool {
        self.kind() == Some(DatabaseErrorKind::ForeignKeyViolation)
    }

    /// True for a NOT NULL violation.
    pub fn is_not_null_violation(&self) -> bool {
        self.kind() == Some(DatabaseErrorKind::NotNullViolation)
    }

    /// True for a CHECK violation.
    pub fn is_check_violation(&self) -> bool {
        self.kind() == Some(DatabaseErrorKind::CheckViolation)
    }

    /// Converts a driver error raised while running `sql`.
    pub(crate) fn from_sqlx(err: sqlx::Error, sql: Option<&str>) -> Error {
        match err {
            sqlx::Error::Database(db) => Error::Database(Box::new(database_error(&*db, sql))),
            sqlx::Error::RowNotFound => Error::RowNotFound,
            source @ (sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed) => {
                Error::ConnectionLost { source }
            }
            other => Error::Driver(other),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::from_sqlx(err, None)
    }
}

fn database_error(db: &dyn sqlx::error::DatabaseError, sql: Option<&str>) -> DatabaseError {
    let kind = match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => DatabaseErrorKind::UniqueViolation,
        sqlx::error::ErrorKind::ForeignKeyViolation => DatabaseErrorKind::ForeignKeyViolation,
        sqlx::error::ErrorKind::NotNullViolation => DatabaseErrorKind::NotNullViolation,
        sqlx::error::ErrorKind::CheckViolation => DatabaseErrorKind::CheckViolation,
        _ => match db.code().as_deref() {
            Some("40P01") => DatabaseErrorKind::Deadlock,
            Some("55P03") => DatabaseErrorKind::LockTimeout,
            _ => mysql_error_kind(db),
        },
    };
    let message = db.message().to_owned();
    let constraint = match db.constraint() {
        Some(c) => Some(c.to_owned()),
        None => constraint_from_message(&message),
    };
    // Only PostgreSQL names the table apart from the message.
    #[cfg(feature = "postgres")]
    let table = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.table())
        .map(str::to_owned);
    #[cfg(not(feature = "postgres"))]
    let table = None;
    DatabaseError {
        code: db.code().map(|c| c.into_owned()),
        message,
        constraint,
        table,
        kind,
        sql: sql.map(str::to_owned),
    }
}

/// A MySQL deadlock or lock wait timeout, told by its error number.
#[cfg(feature = "mysql")]
fn mysql_error_kind(db: &dyn sqlx::error::DatabaseError) -> DatabaseErrorKind {
    match db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        Some(my) if my.number() == 1213 => DatabaseErrorKind::Deadlock,
        Some(my) if my.number() == 1205 => DatabaseErrorKind::LockTimeout,
        _ => DatabaseErrorKind::Other,
    }
}

/// Without the MySQL driver no error is MySQL's.
#[cfg(not(feature = "mysql"))]
fn mysql_error_kind(_db: &dyn sqlx::error::DatabaseError) -> DatabaseErrorKind {
    DatabaseErrorKind::Other
}

/// MySQL and SQLite put the constraint in the message only:
/// `Duplicate entry 'x' for key 'users.name'`, `... CONSTRAINT `fk_x` FOREIGN KEY ...`,
/// `CONSTRAINT `ck` failed for ...`, `UNIQUE constraint failed: users.name`.
pub(crate) fn constraint_from_message(message: &str) -> Option<String> {
    if let Some(rest) = message.split(" for key '").nth(1) {
        let key = rest.split('\'').next()?;
        // MySQL 8 prefixes the table: `users.name`; MariaDB gives the bare key name.
        return Some(key.rsplit('.').next().unwrap_or(key).to_owned());
    }
    if let Some(rest) = message.split("CONSTRAINT `").nth(1) {
        return rest.split('`').next().map(str::to_owned);
    }
    for prefix in [
        "UNIQUE constraint failed: ",
        "CHECK constraint failed: ",
        "NOT NULL constraint failed: ",
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return Some(rest.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Shown, constraint_from_message};

    #[test]
    fn long_statements_are_cut_short_in_messages() {
        assert_eq!(Shown("SELECT 1").to_string(), "SELECT 1");
        let long = format!("SELECT {}", "é, ".repeat(1000));
        let shown = Shown(&long).to_string();
        assert!(shown.ends_with("... (2007 more characters)"), "{shown}");
        assert_eq!(
            shown.chars().count(),
            1000 + "... (2007 more characters)".len()
        );
    }

    #[test]
    fn constraint_names_are_read_from_mysql_and_sqlite_messages() {
        assert_eq!(
            constraint_from_message("Duplicate entry 'ed' for key 'users.uq_users_name'")
                .as_deref(),
            Some("uq_users_name")
        );
        assert_eq!(
            constraint_from_message("Duplicate entry 'ed' for key 'uq_name'").as_deref(),
            Some("uq_name")
        );
        assert_eq!(
            constraint_from_message(
                "Cannot add or update a child row: a foreign key constraint fails (`test`.`posts`, CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))"
            )
            .as_deref(),
            Some("fk_posts_user")
        );
        assert_eq!(
            constraint_from_message("UNIQUE constraint failed: users.name").as_deref(),
            Some("users.name")
        );
        assert_eq!(constraint_from_message("syntax error"), None);
    }
}
