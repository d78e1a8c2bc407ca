//! ORDER BY items and window specifications (`OVER (PARTITION BY ... ORDER BY ...)`).

use super::node::ExprNode;
use super::typed::{AnyExpr, Expr};

/// Sort direction and NULL placement of an ORDER BY item.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct OrderItem {
    /// What to sort by.
    pub expr: ExprNode,
    /// Descending.
    pub desc: bool,
    /// `Some(true)`: NULLS FIRST; `Some(false)`: NULLS LAST; `None`: the database's default.
    pub nulls_first: Option<bool>,
}

impl OrderItem {
    /// NULLs sort first.
    pub fn nulls_first(mut self) -> OrderItem {
        self.nulls_first = Some(true);
        self
    }

    /// NULLs sort last.
    pub fn nulls_last(mut self) -> OrderItem {
        self.nulls_first = Some(false);
        self
    }
}

/// A window specification: `OVER (PARTITION BY ... ORDER BY ...)`.
#[derive(Debug, Clone, PartialEq, Hash, Default)]
pub struct Window {
    /// PARTITION BY expressions.
    pub partition_by: Vec<ExprNode>,
    /// ORDER BY items.
    pub order_by: Vec<OrderItem>,
}

/// Attaches a window to a function expression: `func OVER (PARTITION BY ... ORDER BY ...)`.
impl<T> Expr<T> {
    /// `self OVER (window)`; build the window with [`over`].
    pub fn over(self, window: Window) -> Expr<T> {
        ExprNode::Over(Box::new(self.node), Box::new(window)).typed()
    }
}

/// A window: `over().partition_by(..).order_by(..)`.
pub fn over() -> Window {
    Window::default()
}

impl Window {
    /// Adds a PARTITION BY expression.
    pub fn partition_by(mut self, e: impl AnyExpr) -> Window {
        self.partition_by.push(e.any_node());
        self
    }

    /// Adds an ORDER BY item.
    pub fn order_by(mut self, item: impl Into<OrderItem>) -> Window {
        self.order_by.push(item.into());
        self
    }
}

impl<T> From<Expr<T>> for OrderItem {
    fn from(e: Expr<T>) -> OrderItem {
        OrderItem {
            expr: e.node,
            desc: false,
            nulls_first: None,
        }
    }
}
