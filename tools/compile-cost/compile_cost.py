#!/usr/bin/env python3
"""Compile cost of `#[derive(Model)]`.

Writes two throwaway crates with the same 50 structs: `with_derive` (every struct has
`#[derive(Model)]`, `#[orm(...)]` and `#[relationship(...)]` attributes) and
`without_derive` (the same structs and fields, `orm::Related<...>` relationship fields
included, without the derive and its attributes). Both keep `#[derive(Debug, Clone)]`,
so the only difference is the Model derive and what it generates. Then builds each one
with cargo in a target directory of its own and prints the times.

The 50 models:
- 5 chains of 8 models (A1..A8, ..., E1..E8): each level has a foreign key to the level
  above, with a one-to-many / many-to-one `back_populates` pair;
- 6 lookup models (Kind0..Kind5), referenced many-to-one (no back reference) from level
  3 of each chain;
- 1 self-referential model (Category: `parent` / `children`), referenced from level 1;
- 3 association models (Link0..Link2, composite primary key) for 3 many-to-many pairs
  with `secondary` and `back_populates` on both sides.

Usage:
  python3 tools/compile-cost/compile_cost.py generate OUT_DIR [--orm-path PATH]
  python3 tools/compile-cost/compile_cost.py measure [--out OUT_DIR] [--runs N] [--orm-path PATH]

By default the crates depend on a snapshot of the workspace's committed `HEAD`
(`git archive`, members reduced to orm, orm-derive, orm-runtime), so edits in progress
in the working tree neither break nor rebuild the measured dependencies; `--orm-path`
points them at another `orm` crate (e.g. /work/main/orm, the live tree) instead.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHAINS = "ABCDE"
LEVELS = 8
KINDS = 6
# Many-to-many pairs (left, right) through Link0..Link2.
M2M = [("A8", "B8"), ("C8", "D8"), ("E8", "A4")]


def snake(name):
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and not name[i - 1].isdigit():
            out += "_"
        out += ch.lower()
    return out


class Model:
    def __init__(self, name):
        self.name = name
        self.table = snake(name)
        self.fields = []  # (attrs, name, type)
        self.rels = []  # (attrs, name, type)

    def field(self, name, ty, *attrs):
        self.fields.append((list(attrs), name, ty))

    def rel(self, name, ty, *attrs):
        self.rels.append((list(attrs), name, ty))


def plain_columns(m, with_code=True):
    m.field("id", "i64", "primary_key")
    m.field("name", "String", "max_length = 100", "index")
    if with_code:
        m.field("code", "String", "unique", "max_length = 20")
    m.field("description", "Option<String>")
    m.field("score", "f64", "default = 0.0")
    m.field("active", "bool", 'server_default = "1"')
    m.field("rank", "i32")


def models():
    ms = {}
    cat = Model("Category")
    plain_columns(cat)
    cat.field("parent_id", "Option<i64>", 'foreign_key = "category.id"', "index")
    cat.rel("parent", "Option<Category>", 'back_populates = "children"', 'remote_side = "id"')
    cat.rel("children", "Vec<Category>", 'back_populates = "parent"', 'order_by = "name"')
    ms[cat.name] = cat
    for k in range(KINDS):
        m = Model(f"Kind{k}")
        plain_columns(m, with_code=False)
        ms[m.name] = m
    for ci, c in enumerate(CHAINS):
        for lvl in range(1, LEVELS + 1):
            m = Model(f"{c}{lvl}")
            plain_columns(m)
            if lvl == 1:
                m.field("category_id", "i64", 'foreign_key = "category.id"', "index")
                m.rel("category", "Category")
            else:
                parent = f"{c}{lvl - 1}"
                m.field(
                    "parent_id",
                    "i64",
                    f'foreign_key = "{snake(parent)}.id"',
                    'on_delete = "cascade"',
                    "index",
                )
                m.rel("parent", parent, 'back_populates = "children"')
            if lvl == 3:
                kind = f"Kind{ci % KINDS}"
                m.field("kind_id", "Option<i64>", f'foreign_key = "{snake(kind)}.id"')
                m.rel("kind", f"Option<{kind}>", 'lazy = "selectin"')
            if lvl < LEVELS:
                m.rel(
                    "children",
                    f"Vec<{c}{lvl + 1}>",
                    'back_populates = "parent"',
                    'cascade = "all, delete-orphan"',
                    "passive_deletes",
                )
            if lvl == LEVELS:
                m.field("version", "i32", "version")
            ms[m.name] = m
    for i, (left, right) in enumerate(M2M):
        link = Model(f"Link{i}")
        link.fields.append(
            (["primary_key", f'foreign_key = "{snake(left)}.id"', 'on_delete = "cascade"'], "left_id", "i64")
        )
        link.fields.append(
            (["primary_key", f'foreign_key = "{snake(right)}.id"', 'on_delete = "cascade"'], "right_id", "i64")
        )
        link.field("note", "Option<String>", "max_length = 200")
        ms[link.name] = link
        ms[left].rel(f"rights{i}", f"Vec<{right}>", f'secondary = "{link.table}"', f'back_populates = "lefts{i}"')
        ms[right].rel(f"lefts{i}", f"Vec<{left}>", f'secondary = "{link.table}"', f'back_populates = "rights{i}"')
    assert len(ms) == 50, len(ms)
    return list(ms.values())


def render(ms, derive):
    out = [
        "//! Generated by tools/compile-cost/compile_cost.py: 50 models "
        + ("with" if derive else "without")
        + " `#[derive(Model)]`.",
        "#![allow(dead_code)] // generated structs, never used",
        "",
    ]
    if derive:
        out.append("use orm::{Model, Related};")
    else:
        out.append("use orm::Related;")
    out.append("")
    for m in ms:
        if derive:
            out.append("#[derive(Model, Debug, Clone)]")
            out.append(f'#[orm(table = "{m.table}")]')
        else:
            out.append("#[derive(Debug, Clone)]")
        out.append(f"pub struct {m.name} {{")
        for attrs, name, ty in m.fields:
            if derive and attrs:
                out.append(f"    #[orm({', '.join(attrs)})]")
            out.append(f"    pub {name}: {ty},")
        for attrs, name, ty in m.rels:
            if derive:
                out.append(f"    #[relationship({', '.join(attrs)})]")
            out.append(f"    pub {name}: Related<{ty}>,")
        out.append("}")
        out.append("")
    return "\n".join(out)


def snapshot_orm(dest):
    """The committed workspace (HEAD) with only orm, orm-derive and orm-runtime."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "HEAD", "Cargo.toml", "Cargo.lock", "orm", "orm-derive", "orm-runtime"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    manifest = dest / "Cargo.toml"
    text = manifest.read_text()
    members = 'members = ["orm", "orm-derive", "orm-runtime"]'
    text = re.sub(r"^members = \[.*\]$", members, text, flags=re.M)
    text = re.sub(r"^default-members = \[.*\]$", "default-" + members, text, flags=re.M)
    manifest.write_text(text)
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return dest / "orm", head


def generate(out, orm_path=None):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = "path"
    if orm_path is None:
        shutil.rmtree(out / "orm-snapshot", ignore_errors=True)
        orm_path, head = snapshot_orm(out / "orm-snapshot")
        source = f"snapshot of HEAD {head}"
    orm_path = Path(orm_path).resolve()
    ms = models()
    for crate, derive in (("with_derive", True), ("without_derive", False)):
        d = out / crate
        (d / "src").mkdir(parents=True, exist_ok=True)
        (d / "Cargo.toml").write_text(
            f'[package]\nname = "{crate}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
            f'[dependencies]\norm = {{ path = "{orm_path}" }}\n\n[workspace]\n'
        )
        # The workspace's lock file pins the same dependency versions (cargo drops the
        # entries this crate does not use).
        shutil.copy(REPO / "Cargo.lock", d / "Cargo.lock")
        (d / "src" / "lib.rs").write_text(render(ms, derive))
    return out, orm_path, source


def cargo(crate_dir, target, *args):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    env.pop("RUSTFLAGS", None)
    start = time.perf_counter()
    subprocess.run(
        ["cargo", "build", "--quiet", *args], cwd=crate_dir, env=env, check=True
    )
    return time.perf_counter() - start


def measure(out, runs, orm_path=None):
    out, orm_path, source = generate(out, orm_path)
    target = out / "target"
    load_start = os.getloadavg()[0]
    results = {}
    for crate in ("with_derive", "without_derive"):
        d = out / crate
        cargo(d, target)  # dependencies (and the crate) built once
        touch, clean = [], []
        for _ in range(runs):
            (d / "src" / "lib.rs").touch()
            touch.append(cargo(d, target))
        for _ in range(runs):
            env = dict(os.environ, CARGO_TARGET_DIR=str(target))
            subprocess.run(["cargo", "clean", "--quiet", "-p", crate], cwd=d, env=env, check=True)
            clean.append(cargo(d, target))
        results[crate] = (touch, clean)
        print(f"{crate}: touch {fmt(touch)}; clean {fmt(clean)}", file=sys.stderr)

    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    lines = subprocess.run(["wc", "-l", str(out / "with_derive/src/lib.rs"), str(out / "without_derive/src/lib.rs")],
                           capture_output=True, text=True).stdout.split("\n")
    print(f"orm: {source} ({orm_path}); {rustc}; {os.cpu_count()} CPUs; "
          f"load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"dev profile; {runs} runs, median")
    print(f"sources: {lines[0].split()[0]} / {lines[1].split()[0]} lines")
    print()
    print("| crate (50 models) | `touch src/lib.rs` rebuild | clean build of the crate alone |")
    print("|---|---:|---:|")
    for crate in ("with_derive", "without_derive"):
        touch, clean = results[crate]
        print(f"| `{crate}` | {statistics.median(touch):.2f} s ({fmt(touch)}) | "
              f"{statistics.median(clean):.2f} s ({fmt(clean)}) |")
    (wt, wc), (nt, nc) = results["with_derive"], results["without_derive"]
    print(f"| derive cost (difference of medians) | {statistics.median(wt) - statistics.median(nt):.2f} s | "
          f"{statistics.median(wc) - statistics.median(nc):.2f} s |")


def fmt(xs):
    return ", ".join(f"{x:.2f}" for x in xs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write the two crates into OUT_DIR")
    g.add_argument("out")
    g.add_argument("--orm-path", help="the orm crate to depend on (default: a snapshot of HEAD)")
    m = sub.add_parser("measure", help="generate, build and time the two crates")
    m.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "orm-compile-cost"))
    m.add_argument("--runs", type=int, default=3)
    m.add_argument("--orm-path", help="the orm crate to depend on (default: a snapshot of HEAD)")
    a = p.parse_args()
    if a.cmd == "generate":
        out, orm_path, source = generate(a.out, a.orm_path)
        print(f"wrote {out}/with_derive and {out}/without_derive (orm: {source}, {orm_path})")
    else:
        measure(a.out, a.runs, a.orm_path)


if __name__ == "__main__":
    main()
