//! `CASE WHEN ... THEN ... ELSE ... END`.

use std::marker::PhantomData;

use super::node::ExprNode;
use super::typed::{Expr, ExprType, IntoExpr};

/// Starts a searched `CASE WHEN cond THEN value ... END`.
pub fn case<T: ExprType>(cond: Expr<bool>, then: impl IntoExpr<T::Base>) -> Case<T> {
    Case {
        whens: vec![(cond.node, then.into_node())],
        _t: PhantomData,
    }
}

/// A `CASE` expression under construction; finish with [`Case::otherwise`] or
/// [`Case::end`].
#[derive(Debug, Clone)]
#[must_use = "finish the CASE with .otherwise(..) or .end()"]
pub struct Case<T> {
    whens: Vec<(ExprNode, ExprNode)>,
    _t: PhantomData<fn() -> T>,
}

impl<T: ExprType> Case<T> {
    /// Adds `WHEN cond THEN value`.
    pub fn when(mut self, cond: Expr<bool>, then: impl IntoExpr<T::Base>) -> Case<T> {
        self.whens.push((cond.node, then.into_node()));
        self
    }

    /// `ELSE value END`.
    pub fn otherwise(self, value: impl IntoExpr<T::Base>) -> Expr<T> {
        ExprNode::Case {
            operand: None,
            whens: self.whens,
            otherwise: Some(Box::new(value.into_node())),
        }
        .typed()
    }

    /// `END` without ELSE: NULL when nothing matches.
    pub fn end(self) -> Expr<Option<T>> {
        ExprNode::Case {
            operand: None,
            whens: self.whens,
            otherwise: None,
        }
        .typed()
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::fixtures::{User, check_same};
    use crate::sql::*;

    #[test]
    fn searched_case() {
        let e = case::<String>(User::karma.gt(10), "high")
            .when(User::karma.gt(0), "low")
            .otherwise("none");
        check_same(
            &select(e.label("level")),
            r#"SELECT CASE WHEN "users"."karma" > $1 THEN $2 WHEN "users"."karma" > $3 THEN $4 ELSE $5 END AS "level" FROM "users""#,
        );
    }

    #[test]
    fn case_without_else() {
        let e: Expr<Option<String>> = case(User::karma.gt(10), "high").end();
        check_same(
            &select(e),
            r#"SELECT CASE WHEN "users"."karma" > $1 THEN $2 END FROM "users""#,
        );
    }
}
