//! Foreign-key order: which table must exist before which, and which foreign keys must
//! be created apart from their table (`ALTER TABLE ... ADD CONSTRAINT`) because they
//! close a cycle.
//!
//! As SQLAlchemy's `sort_tables_and_constraints`: a foreign key marked
//! [`use_alter`](super::ForeignKey::use_alter) never orders tables; every other foreign
//! key between two tables of one cycle (a strongly connected component of the
//! dependency graph) is set apart too; a key from a table to itself orders nothing.
//! The tables are then sorted parents first; of the tables ready to go next, the one
//! that comes first in the metadata goes.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::table::Table;

/// The result of sorting: the creation order and the foreign keys set apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Indexes into the table list, parents before children.
    pub order: Vec<usize>,
    /// `(table, foreign key)` index pairs of keys that order nothing: `use_alter` ones
    /// and those in a cycle.
    pub separate: Vec<(usize, usize)>,
    /// The cycles (tables of each strongly connected component of two or more tables),
    /// counting only keys not marked `use_alter`.
    pub cycles: Vec<Vec<usize>>,
}

/// Index of the table `fk` of `tables[child]` refers to, if it is in the list.
fn referred(tables: &[Arc<Table>], child: usize, fk_index: usize) -> Option<usize> {
    let t = &tables[child];
    let fk = &t.foreign_keys[fk_index];
    let schema = fk.referred_schema.as_ref().or(t.schema.as_ref());
    tables
        .iter()
        .position(|p| p.name == fk.referred_table && p.schema.as_ref() == schema)
}

/// Sorts `tables` by their foreign keys.
pub(crate) fn plan(tables: &[Arc<Table>]) -> Plan {
    let n = tables.len();
    // edges[parent] = children that depend on it, through keys not marked use_alter.
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for child in 0..n {
        for (k, fk) in tables[child].foreign_keys.iter().enumerate() {
            if fk.use_alter {
                continue;
            }
            if let Some(parent) = referred(tables, child, k)
                && parent != child
            {
                edges[parent].insert(child);
            }
        }
    }
    let component = strongly_connected(&edges);
    let mut sizes = vec![0usize; n];
    for &c in &component {
        sizes[c] += 1;
    }
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    let mut seen = BTreeSet::new();
    for t in 0..n {
        let c = component[t];
        if sizes[c] > 1 && seen.insert(c) {
            cycles.push((0..n).filter(|&u| component[u] == c).collect());
        }
    }

    let mut separate = Vec::new();
    let mut indegree = vec![0usize; n];
    let mut ordering: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for child in 0..n {
        for (k, fk) in tables[child].foreign_keys.iter().enumerate() {
            let parent = referred(tables, child, k);
            let in_cycle = parent.is_some_and(|p| {
                p != child && component[p] == component[child] && sizes[component[p]] > 1
            });
            if fk.use_alter || in_cycle {
                separate.push((child, k));
                continue;
            }
            if let Some(p) = parent
                && p != child
                && ordering[p].insert(child)
            {
                indegree[child] += 1;
            }
        }
    }
    // Kahn's algorithm, always taking the ready table that comes first in the metadata.
    let mut ready: BTreeSet<usize> = (0..n).filter(|&t| indegree[t] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(t) = ready.pop_first() {
        order.push(t);
        for &c in &ordering[t] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert(c);
            }
        }
    }
    debug_assert_eq!(order.len(), n, "cycle edges were all set apart");
    Plan {
        order,
        separate,
        cycles,
    }
}

/// Tarjan's algorithm: the component number of every node.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<usize> {
    struct State<'e> {
        edges: &'e [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        component: Vec<usize>,
        components: usize,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                s.component[w] = s.components;
                if w == v {
                    break;
                }
            }
            s.components += 1;
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        component: vec![0; n],
        components: 0,
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.component
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ForeignKey, SqlType};

    fn table(name: &str, refs: &[&str]) -> Arc<Table> {
        let mut t = Table::new(name).column(Column::new("id", SqlType::Integer).primary_key());
        for r in refs {
            t = t
                .column(Column::new(format!("{r}_id"), SqlType::Integer))
                .foreign_key(ForeignKey::new([format!("{r}_id")], *r, ["id"]));
        }
        Arc::new(t)
    }

    fn names(tables: &[Arc<Table>], p: &Plan) -> Vec<String> {
        p.order.iter().map(|&i| tables[i].name.clone()).collect()
    }

    #[test]
    fn parents_come_first_then_metadata_order() {
        let tables = vec![
            table("track", &["album", "genre"]),
            table("album", &["artist"]),
            table("artist", &[]),
            table("genre", &[]),
            table("employee", &["employee"]),
        ];
        let p = plan(&tables);
        assert_eq!(
            names(&tables, &p),
            ["artist", "album", "genre", "track", "employee"]
        );
        assert!(p.separate.is_empty() && p.cycles.is_empty());
    }

    #[test]
    fn cycles_are_found_and_their_keys_set_apart() {
        let tables = vec![
            table("a", &["b"]),
            table("b", &["a"]),
            table("c", &["a"]),
            table("d", &["d"]),
        ];
        let p = plan(&tables);
        assert_eq!(p.cycles, vec![vec![0, 1]]);
        assert_eq!(p.separate, vec![(0, 0), (1, 0)]);
        assert_eq!(names(&tables, &p), ["a", "b", "c", "d"]);
    }

    #[test]
    fn use_alter_breaks_a_cycle_alone() {
        let mut b = (*table("b", &["a"])).clone();
        b.foreign_keys[0].use_alter = true;
        let tables = vec![table("a", &["b"]), Arc::new(b)];
        let p = plan(&tables);
        assert!(p.cycles.is_empty());
        assert_eq!(p.separate, vec![(1, 0)]);
        assert_eq!(names(&tables, &p), ["b", "a"]);
    }
}
