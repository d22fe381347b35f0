"""Thin handlers (docs/architecture.md): a route handler in api/ or web/ names the services it calls, one typed
dependency each (api/deps.py), never the container; nothing there touches the catalog or the lake, not even
through a service's attribute; and a handler is a plain function that FastAPI runs on a worker thread, unless
it must stay on the event loop for a reason named below."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import domolite
from domolite.api import deps

pytestmark = pytest.mark.unit

PACKAGE = Path(domolite.__file__).parent
EDGE = sorted([*(PACKAGE / "api").rglob("*.py"), *(PACKAGE / "web").glob("*.py")])
# Where the container is looked up (per request) to hand out the typed dependencies and the body limits.
CONTAINER_LOOKUP = {"api/deps.py", "api/body.py"}  # body.py: the body limits
STORAGE_ATTRIBUTES = {"catalog", "lake", "engine", "door"}  # rows come through the query service
CONTAINER_NAMES = {"Services", "ServicesDep", "get_services", "build_services"}
SERVICE_DEPENDENCIES = {name for name in vars(deps) if name.endswith("Dep") and name != "PrincipalDep"}
VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}
# Handlers that stay on the event loop, and why.
ASYNC_HANDLERS = {
    # The request body is read as it arrives (a part or an import of up to the part limit, never whole in memory).
    "api/public/streams.py:upload_part": "streamed body",
    "api/public/datasets.py:import_data": "streamed body",
    "api/instance/uploads.py:upload_part": "streamed body",
    # The append-row upload shares stage 1's route; its one row is received as a part.
    "api/instance/uploads.py:open_upload": "streamed body",
    # A query stops at once when the client hangs up: the handler watches the connection while DuckDB runs.
    "api/public/datasets.py:query_dataset": "cancelled on hang-up",
    "api/instance/datasources.py:execute": "cancelled on hang-up",
    # /ready answers within its time limit even when the catalog or the lake does not (the check is abandoned).
    "api/operations.py:ready": "bounded wait",
}


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def handlers(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco.func if isinstance(deco, ast.Call) else deco
            if isinstance(call, ast.Attribute) and call.attr in VERBS:
                found.append(node)
                break
    return found


def parsed() -> list[tuple[str, ast.Module]]:
    return [(rel(p), ast.parse(p.read_text(), str(p))) for p in EDGE]


def test_the_edge_modules_are_found() -> None:
    names = {name for name, _ in parsed()}
    assert {"api/public/datasets.py", "api/instance/uploads.py", "web/dataset.py"} <= names
    assert sum(len(handlers(tree)) for _, tree in parsed()) > 100


def test_no_module_of_the_api_or_the_data_center_touches_the_catalog_the_lake_or_the_door() -> None:
    touches = [
        f"{name}:{node.lineno} .{node.attr}"
        for name, tree in parsed()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in STORAGE_ATTRIBUTES
    ]
    assert touches == []


def test_no_module_but_the_dependencies_reaches_the_container() -> None:
    reaches = []
    for name, tree in parsed():
        if name in CONTAINER_LOOKUP:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in CONTAINER_NAMES:
                reaches.append(f"{name}:{node.lineno} {node.id}")
            elif isinstance(node, ast.Attribute) and node.attr in CONTAINER_NAMES | {"services"}:
                reaches.append(f"{name}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module == "domolite.services":
                reaches.append(f"{name}:{node.lineno} import domolite.services")
    assert reaches == []


def test_handlers_are_plain_functions_without_a_thread_pool_of_their_own() -> None:
    found_async = {}
    pooled = []
    for name, tree in parsed():
        for handler in handlers(tree):
            where = f"{name}:{handler.name}"
            if isinstance(handler, ast.AsyncFunctionDef):
                found_async[where] = ASYNC_HANDLERS.get(where, "no reason")
            for node in ast.walk(handler):
                name_of = (
                    node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
                )
                if name_of == "run_in_threadpool" or (name_of == "to_thread" and where not in ASYNC_HANDLERS):
                    pooled.append(where)
    assert found_async == ASYNC_HANDLERS
    assert pooled == []
    for name, tree in parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "starlette.concurrency":
                pytest.fail(f"{name} imports starlette.concurrency")


def test_a_handler_names_only_the_services_it_calls() -> None:
    assert {"DataSetsDep", "UploadsDep", "StreamsDep", "QueriesDep"} <= SERVICE_DEPENDENCIES
    unused = []
    for name, tree in parsed():
        for handler in handlers(tree):
            used = {n.id for n in ast.walk(handler) if isinstance(n, ast.Name)}
            for arg in handler.args.args:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if annotation in SERVICE_DEPENDENCIES and arg.arg not in used:
                    unused.append(f"{name}:{handler.name}({arg.arg}: {annotation})")
    assert unused == []


def test_a_dataset_is_deleted_in_one_place() -> None:
    """One service per noun: every API deletes a DataSet through DataSets.delete, the only caller of the catalog's
    transactional delete."""
    callers = [
        f"{rel(path)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "catalog" not in path.relative_to(PACKAGE).parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "delete"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "datasets"
        and isinstance(node.func.value.value, ast.Attribute)
        and node.func.value.value.attr == "catalog"
    ]
    assert len(callers) == 1 and callers[0].startswith("datasets/service.py:")
    assert not (PACKAGE / "datasets" / "datacenter.py").exists()


def test_the_catalog_is_one_engine_with_a_store_per_noun_and_one_transaction_style() -> None:
    """Every store is a `Store` on the catalog's one engine, and the catalog holds each of them; no store opens a
    transaction but through `Store.tx` (reads and writes alike). The backup's exported snapshot (snapshot.py) is
    no store: it holds a REPEATABLE READ transaction of its own for pg_dump."""
    from domolite.catalog import database, engine

    stores = {
        name: cls
        for path in sorted((PACKAGE / "catalog").glob("*.py"))
        for name, cls in vars(importlib.import_module(f"domolite.catalog.{path.stem}")).items()
        if isinstance(cls, type) and name.endswith("Store") and cls is not engine.Store
    }
    assert len(stores) == 10, sorted(stores)
    assert all(issubclass(cls, engine.Store) for cls in stores.values())
    held = database.Catalog.__init__.__code__.co_names
    assert {cls.__name__ for cls in stores.values()} <= set(held)
    for path in sorted((PACKAGE / "catalog").glob("*.py")):
        if path.name in ("database.py", "engine.py", "snapshot.py"):
            continue
        text = path.read_text()
        assert "engine.begin(" not in text and "engine.connect(" not in text, rel(path)
