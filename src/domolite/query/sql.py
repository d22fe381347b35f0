"""User SQL (Domo's MySQL flavour) checked and rewritten with sqlglot so that it can read only one DataSet."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from domolite.errors import InvalidSql

# Functions that reach outside the DataSet: files, the catalog, settings, other engines.
_DENIED_PREFIXES = (
    "read_",
    "duckdb_",
    "pragma_",
    "ducklake_",
    "parquet_",
    "sqlite_",
    "postgres_",
    "iceberg_",
    "delta_",
    "json_execute",
    "icu_",
    "which_secret",
)
_DENIED_NAMES = frozenset(
    {
        "glob",
        "getenv",
        "query",
        "query_table",
        "current_setting",
        "checkpoint",
        "force_checkpoint",
        "sniff_csv",
        "range",
        "generate_series",
        "unnest",
        "snapshots",
        "table_info",
        "repeat_row",
        "load_extension",
        "install_extension",
        "set_commit_message",
        "enable_logging",
        "test_all_types",
        "summary",
        "read_blob",
        "read_text",
        "current_database",
        "current_schema",
        "current_schemas",
        "current_catalog",
        "version",
        "file_exists",
    }
)
TABLE_NAME = "table"


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    name = node.sql_name() if isinstance(node, exp.Func) else node.key
    return str(name).lower()


def rewrite(user_sql: str, dataset_id: str, source_sql: str) -> str:
    """Return DuckDB SQL equal to `user_sql` with every reference to the DataSet replaced by `source_sql`.

    Raises:
        InvalidSql: the SQL does not parse, is not exactly one SELECT, or reaches for anything but the DataSet.
    """
    text = user_sql.strip().rstrip(";").strip()
    if not text:
        raise InvalidSql("the SQL is empty")
    try:
        statements = [s for s in sqlglot.parse(text, read="mysql") if s is not None]
    except (ParseError, TokenError) as exc:
        raise InvalidSql(f"the SQL does not parse: {_short(exc)}") from None
    if len(statements) != 1:
        raise InvalidSql("only one statement may be sent")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise InvalidSql(f"only SELECT is allowed, not {tree.key.upper()}")
    _refuse_side_effects(tree)
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    accepted = {TABLE_NAME, dataset_id.lower()}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            raise InvalidSql("table functions are not allowed; read the DataSet as `table`")
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog"):
            raise InvalidSql(f"only the DataSet can be read (as `table`), not {table.sql(dialect='mysql')}")
        if name in cte_names and name not in accepted:
            continue
        if name not in accepted:
            raise InvalidSql(f"unknown table {table.name!r}; the DataSet is read as `table`")
        alias = table.alias or TABLE_NAME
        subquery = exp.paren(sqlglot.parse_one(source_sql, read="duckdb"), copy=False)
        table.replace(exp.Subquery(this=subquery.this, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    for func in tree.find_all(exp.Func):
        name = _function_name(func)
        if name in _DENIED_NAMES or name.startswith(_DENIED_PREFIXES):
            raise InvalidSql(f"the function {name} is not allowed")
    return tree.sql(dialect="duckdb")


def _refuse_side_effects(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Command | exp.Pragma | exp.Set | exp.Copy | exp.Insert | exp.Delete | exp.Update):
            raise InvalidSql(f"{node.key.upper()} is not allowed")
        if isinstance(node, exp.Into):
            raise InvalidSql("SELECT INTO is not allowed")


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


_PAGE = re.compile(r"(?is)^(.*?)\s+limit\s+(\d+)\s+offset\s+(\d+)\s*;?\s*$")


def split_page(user_sql: str) -> tuple[str, int, int] | None:
    """(inner SQL, limit, offset) when the SQL ends in a client's `limit N offset M` page clause, or None."""
    match = _PAGE.match(user_sql.strip())
    if match is None:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


def paged(user_sql: str, limit: int | None, offset: int | None) -> str:
    """The SQL as one page: a trailing `limit N offset M` (or, without one, the given limit and offset)
    applies to the result of the rest of the SQL, so that the SQL's own LIMIT still holds."""
    page = split_page(user_sql)
    if page is not None:
        inner, limit, offset = page
    elif limit is None and not offset:
        return user_sql
    else:
        inner = user_sql.strip().rstrip(";")
    clause = f" LIMIT {int(limit)}" if limit is not None else " LIMIT 9223372036854775807"
    return f"SELECT * FROM ({inner}) AS _page{clause} OFFSET {int(offset or 0)}"
