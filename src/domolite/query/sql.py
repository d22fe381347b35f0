"""User SQL (Domo's MySQL flavour) checked and rewritten with sqlglot so that it can read only one DataSet.

The check is an allowlist. User SQL is accepted only if it is exactly one SELECT (WITH and set operations
allowed) whose every table reference is the DataSet (`table` or its id, or a CTE defined in the same
statement), and whose every function is a known scalar, aggregate or window function. Table functions, catalog
views, other schemas, variables and every statement with a side effect are refused with the reason.
The sandbox DuckDB instance (`query/door.py`) is the second wall: no external access, configuration locked.
"""

from __future__ import annotations

import re
import secrets

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import TokenType

from domolite.errors import InvalidSql
from domolite.query.mistakes import parse_mistake

TABLE_NAME = "table"

# sqlglot's typed functions are standard scalar/aggregate/window functions, except these families, which make
# rows out of nothing, read files, or reveal the session, the catalog or secrets.
_DENIED_TYPED = re.compile(
    r"^(Read\w*|ToFile|Secret|Session\w*|Generate\w*|ExplodingGenerateSeries|_?Explode\w*|Posexplode\w*|"
    r"JSONTable|XMLTable|\w*SplitToTable|Seq\d|RangeN|Current(?!(Date|Time|Timestamp|Datetime)$)\w*)$"
)

# Functions sqlglot does not know by type (they parse as Anonymous) that users may call: DuckDB and MySQL
# scalar, aggregate and window functions that read only their arguments.
ALLOWED_ANONYMOUS = frozenset(
    """
    abs acos asin atan atan2 cbrt ceil ceiling cos cot degrees even exp factorial floor gamma isfinite
    isinf isnan ln log log10 log2 mod pi pow power radians round round_even sign signbit sin sqrt tan
    trunc truncate ascii bit_length char char_length character_length chr concat concat_ws contains
    ends_with field elt format ilike_escape instr lcase left length levenshtein like_escape locate lower
    lpad ltrim md5 mid nfc_normalize octet_length position prefix printf regexp_extract
    regexp_extract_all regexp_full_match regexp_matches regexp_replace regexp_split_to_array repeat
    replace reverse right rpad rtrim sha1 sha256 space split_part starts_with strip_accents string_split
    strpos substr substring suffix translate trim ucase unicode upper hash jaccard jaro_similarity
    jaro_winkler_similarity damerau_levenshtein hamming mismatches age century date_add date_diff
    date_format date_part date_sub date_trunc datediff datepart datesub datetrunc day dayname dayofmonth
    dayofweek dayofyear decade epoch epoch_ms epoch_us epoch_ns era from_unixtime hour isodow isoyear
    julian last_day make_date make_time make_timestamp microsecond millennium millisecond minute month
    monthname now quarter second str_to_date strftime strptime time_bucket timestamp_add timestampdiff
    to_days to_timestamp today unix_timestamp week weekday weekofyear year yearweek to_years to_months
    to_days to_hours to_minutes to_seconds any_value approx_count_distinct approx_quantile arbitrary
    arg_max arg_min argmax argmin avg bit_and bit_or bit_xor bool_and bool_or corr count count_if
    countif covar_pop covar_samp entropy favg first fsum group_concat histogram kurtosis last list
    listagg mad max max_by median min min_by mode product quantile quantile_cont quantile_disc regr_avgx
    regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy sem skewness
    stddev stddev_pop stddev_samp string_agg sum variance var_pop var_samp cume_dist dense_rank
    first_value lag last_value lead nth_value ntile percent_rank rank row_number coalesce greatest
    ifnull iif least nullif typeof if isnull nvl array_length list_contains list_value list_sort
    list_distinct list_unique len json_extract json_extract_string json_extract_path
    json_extract_path_text json_valid json_array_length json_keys json_type json_object json_array
    to_json
    """.split()
)

# A second line of defence on every function name, typed or not.
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
    "load_",
    "install_",
    "glob",
    "getenv",
    "getvariable",
    "current_setting",
    "query",
)

_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Command,
    exp.Pragma,
    exp.Set,
    exp.Copy,
    exp.Insert,
    exp.Delete,
    exp.Update,
    exp.Merge,
    exp.Into,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Use,
    exp.Describe,
    exp.Show,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.LoadData,
    exp.Cache,
    exp.Uncache,
)


# Statements refused by their first word (several do not parse as SQL at all, so name them before parsing).
_FORBIDDEN_STATEMENTS = frozenset(
    """attach detach copy install load pragma set call export import checkpoint force vacuum create drop alter
    insert update delete merge truncate use describe summarize show explain begin commit rollback grant revoke
    prepare execute deallocate reset""".split()
)


def _refuse_statements(text: str) -> None:
    """Name the statement when the SQL starts one that is not a SELECT (also after a ';')."""
    try:
        tokens = sqlglot.tokenize(text, read="mysql")
    except (ParseError, TokenError) as exc:
        raise InvalidSql(f"the SQL does not parse: {_short(exc)}") from None
    first = True
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            first = True
            continue
        word = token.text.lower()
        if first and token.token_type is not TokenType.STRING and word in _FORBIDDEN_STATEMENTS:
            raise InvalidSql(f"{word.upper()} is not allowed; only one SELECT may be sent")
        if token.token_type is TokenType.INTO:
            raise InvalidSql("SELECT INTO is not allowed")
        first = False


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return str(node.sql_name()).lower()


NESTED_TOO_DEEPLY = "the SQL is nested too deeply to be read; flatten its subqueries, parentheses or expressions"


def check(user_sql: str, dataset_id: str) -> exp.Query:
    """Parse and check user SQL; return its tree.

    Raises:
        InvalidSql: the SQL does not parse, is not one SELECT, reaches for anything but the DataSet, or is
            nested too deeply for the parser.
    """
    try:
        return _check(user_sql, dataset_id)
    except RecursionError:
        raise InvalidSql(NESTED_TOO_DEEPLY) from None


def _statement_text(user_sql: str) -> str:
    return user_sql.strip().rstrip(";").strip()


def _check(user_sql: str, dataset_id: str) -> exp.Query:
    text = _statement_text(user_sql)
    if not text:
        raise InvalidSql("the SQL is empty")
    _refuse_statements(text)
    try:
        statements = [s for s in sqlglot.parse(text, read="mysql") if s is not None]
    except ParseError as exc:
        raise InvalidSql(parse_mistake(text, exc)) from None
    except TokenError as exc:
        raise InvalidSql(f"the SQL does not parse: {_short(exc)}") from None
    if not statements:
        raise InvalidSql("the SQL is empty")
    if len(statements) != 1:
        raise InvalidSql("only one statement may be sent")
    tree = statements[0]
    if isinstance(tree, exp.Command):
        keyword = str(tree.this).split()[0].upper() if tree.this else "this statement"
        raise InvalidSql(f"{keyword} is not allowed; only one SELECT may be sent")
    if not isinstance(tree, exp.Query):
        raise InvalidSql(f"only SELECT is allowed, not {tree.key.upper()}")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    accepted = dataset_names(tree, dataset_id, cte_names)
    for node in tree.walk():
        _check_node(node, accepted, cte_names)
    return tree


def dataset_names(tree: exp.Query, dataset_id: str, cte_names: set[str]) -> set[str]:
    """The table names that mean the DataSet: `table`, its id, and, when the SQL names one table only (besides
    its CTEs), that name, whatever it is (the URL says which DataSet is read: `FROM your_table` reads it)."""
    accepted = {TABLE_NAME, dataset_id.lower()}
    named = {t.name.lower() for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier)} - cte_names
    if len(named) == 1 and not _names_something_else(next(iter(named))):
        accepted |= named
    return accepted


# Names that aim at something other than the URL's DataSet: another DataSet's id, a lake table, a catalog view.
_ELSEWHERE = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|ds_[0-9a-f]{32}|information_schema|pg_\w*|"
    r"sqlite_\w*|duckdb_\w*|ducklake_\w*|__\w*)$"
)


def _names_something_else(name: str) -> bool:
    """A name that aims elsewhere, or a file path or URL (`'data/*.parquet'`): never read as the DataSet."""
    return _ELSEWHERE.match(name) is not None or re.search(r"[/\\.*?:]", name) is not None


def _check_node(node: exp.Expr, accepted: set[str], cte_names: set[str]) -> None:
    if isinstance(node, _FORBIDDEN_NODES):
        raise InvalidSql(f"{node.key.upper()} is not allowed; only one SELECT may be sent")
    if isinstance(node, exp.SessionParameter | exp.Parameter | exp.Placeholder):
        raise InvalidSql(f"variables and parameters are not allowed: {node.sql(dialect='mysql')}")
    if isinstance(node, exp.Table):
        _check_table(node, accepted, cte_names)
    elif isinstance(node, exp.Column):
        if node.args.get("db") or node.args.get("catalog"):
            raise InvalidSql(f"columns are read from the DataSet only, not {node.sql(dialect='mysql')}")
    elif isinstance(node, exp.Func):
        _check_function(node)


def _check_table(table: exp.Table, accepted: set[str], cte_names: set[str]) -> None:
    if not isinstance(table.this, exp.Identifier):
        what = table.this.sql(dialect="mysql") if table.this else "?"
        raise InvalidSql(f"table functions are not allowed ({what[:80]}); read the DataSet as `table`")
    if table.args.get("db") or table.args.get("catalog"):
        raise InvalidSql(f"only the DataSet can be read (as `table`), not {table.sql(dialect='mysql')}")
    for arg in ("version", "when", "changes", "sample", "joins", "laterals"):
        if table.args.get(arg):
            raise InvalidSql(f"table options ({arg}) are not allowed on `table`")
    name = table.name.lower()
    if name not in accepted and name not in cte_names:
        raise InvalidSql(
            f"unknown table {table.name!r}; the SQL reads one DataSet, so name one table only (or `table`)"
        )


def _check_function(func: exp.Func) -> None:
    name = _function_name(func)
    if isinstance(func.parent, exp.Dot):
        raise InvalidSql(f"qualified function names are not allowed: {func.parent.sql(dialect='mysql')[:80]}")
    if name.startswith(_DENIED_PREFIXES):
        raise InvalidSql(f"the function {name} is not allowed")
    if isinstance(func, exp.Anonymous):
        if name not in ALLOWED_ANONYMOUS:
            raise InvalidSql(f"the function {name} is not allowed")
    elif _DENIED_TYPED.match(type(func).__name__):
        raise InvalidSql(f"the function {name} is not allowed")


def rewrite(user_sql: str, dataset_id: str, source_sql: str) -> str:
    """Return DuckDB SQL equal to `user_sql` with every reference to the DataSet replaced by `source_sql`.

    `source_sql` (the door's SELECT, with the caller's row filter) is spliced in as text after the user's SQL
    has been checked and turned into DuckDB SQL, so the filter is never re-parsed or re-written.

    Raises:
        InvalidSql: the SQL does not parse, is not one SELECT, or reaches for anything but the DataSet.
    """
    tree = check(user_sql, dataset_id)
    try:
        return _rewrite(tree, user_sql, dataset_id, source_sql)
    except RecursionError:
        raise InvalidSql(NESTED_TOO_DEEPLY) from None


def _rewrite(tree: exp.Query, user_sql: str, dataset_id: str, source_sql: str) -> str:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    accepted = dataset_names(tree, dataset_id, cte_names)
    marker = "__domolite_source_" + secrets.token_hex(12)
    while marker in user_sql:  # pragma: no cover - 96 random bits
        marker = "__domolite_source_" + secrets.token_hex(12)
    name_results_as_written(tree, _statement_text(user_sql))
    for table in list(tree.find_all(exp.Table)):
        name = table.name.lower()
        if name in cte_names and name not in accepted:
            continue
        alias = table.alias or TABLE_NAME
        table.replace(
            exp.Table(
                this=exp.to_identifier(marker, quoted=True),
                alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)),
            )
        )
    sql = tree.sql(dialect="duckdb")
    quoted = f'"{marker}"'
    if marker in sql.replace(quoted, ""):  # pragma: no cover - the marker only ever appears as the table
        raise InvalidSql("the SQL could not be rewritten")
    return sql.replace(quoted, f"({source_sql})")


# Where a SELECT's list of results ends (at its own depth).
_CLAUSE_ENDS = frozenset(
    {
        TokenType.FROM,
        TokenType.WHERE,
        TokenType.GROUP_BY,
        TokenType.HAVING,
        TokenType.ORDER_BY,
        TokenType.LIMIT,
        TokenType.UNION,
        TokenType.EXCEPT,
        TokenType.INTERSECT,
        TokenType.WINDOW,
        TokenType.QUALIFY,
        TokenType.SEMICOLON,
    }
)
_OPENS = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSES = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


def _result_select(tree: exp.Expr) -> exp.Select | None:
    """The SELECT whose list names the result's columns: the leftmost of a set operation, and the inside of a
    `SELECT * FROM (…)` (as a page of a query is run)."""
    while True:
        if isinstance(tree, exp.SetOperation):
            tree = tree.this
        elif isinstance(tree, exp.Subquery):
            tree = tree.this
        elif isinstance(tree, exp.Select):
            source = tree.args.get("from_") or tree.args.get("from")
            inner = source.this if source is not None else None
            only_star = len(tree.expressions) == 1 and isinstance(tree.expressions[0], exp.Star)
            if only_star and isinstance(inner, exp.Subquery) and not tree.args.get("joins"):
                tree = inner.this
                continue
            return tree
        else:
            return None


def _first_start(node: exp.Expr) -> int | None:
    starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
    return min(starts) if starts else None


def _result_texts(select: exp.Select, text: str) -> list[str] | None:
    """The text of each item of the SELECT's list as the user wrote it, or None when it cannot be told."""
    if not select.expressions:
        return None
    first = _first_start(select.expressions[0])
    if first is None:
        return None
    try:
        tokens = sqlglot.tokenize(text, read="mysql")
    except (ParseError, TokenError):
        return None
    at = next((i for i, t in enumerate(tokens) if t.start == first), None)
    if at is None:
        return None
    # Back to this list's SELECT. Only the first item's own tokens lie between (`CAST(`, `(`, ...), and among
    # them the SELECTs of the subqueries the item opens with (`(SELECT n ...)`): those are passed over.
    inner = sum(1 for n in select.expressions[0].walk() if isinstance(n, exp.Select) and _first_start(n) == first)
    while at > 0:
        at -= 1
        if tokens[at].token_type is TokenType.SELECT:
            if inner == 0:
                break
            inner -= 1
    else:
        return None
    at += 1
    while at < len(tokens) and tokens[at].token_type in (TokenType.DISTINCT, TokenType.ALL):
        at += 1
    pieces: list[str] = []
    begin, depth = at, 0
    for i in range(at, len(tokens) + 1):
        token = tokens[i] if i < len(tokens) else None
        what = token.token_type if token is not None else None
        if what in _OPENS:
            depth += 1
            continue
        if what in _CLOSES:
            depth -= 1
            if depth >= 0:
                continue
        if token is None or depth < 0 or (depth == 0 and (what is TokenType.COMMA or what in _CLAUSE_ENDS)):
            if i == begin:
                return None
            pieces.append(text[tokens[begin].start : tokens[i - 1].end + 1])
            if what is not TokenType.COMMA:
                break
            begin = i + 1
    return pieces if len(pieces) == len(select.expressions) else None


def name_results_as_written(tree: exp.Expr, text: str) -> None:
    """Name each computed result column as the SQL wrote it (`COUNT(*)`, not DuckDB's `count_star()`), as Domo
    does. Aliased items and plain columns keep their names; the tree is changed in place."""
    select = _result_select(tree)
    texts = _result_texts(select, text) if select is not None else None
    if select is None or texts is None:
        return
    for item, written in zip(list(select.expressions), texts, strict=True):
        if isinstance(item, exp.Alias | exp.Column | exp.Star) or not written:
            continue
        item.replace(exp.alias_(item.copy(), exp.to_identifier(written, quoted=True)))


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
