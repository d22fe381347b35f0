"""Every operation of /openapi.json, fuzzed with schemathesis on a fresh server, authenticated: no response is a
500 or more, no connection is dropped, and every error is Domo's body {status, statusReason, message, toe}.

The examples per operation are bounded (FUZZ_EXAMPLES valid ones, default 12, and FUZZ_INVALID_EXAMPLES that break
the schema on purpose, default 5), which keeps the whole run to about a minute on two cores; no shrinking is done (a
failure shows the first case that failed)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.serverproc import Server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))  # valid examples per operation
INVALID = int(os.environ.get("FUZZ_INVALID_EXAMPLES", "5"))  # and examples that break the schema on purpose
ERROR_KEYS = {"status", "statusReason", "message", "toe"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    srv = Server(data_dir=tmp_path_factory.mktemp("fuzz") / "data").start()
    started = time.monotonic()
    try:
        with srv.client() as api:
            # Something for the ids of the examples to find, besides nothing.
            ds = api.post(
                "/v1/datasets",
                json={"name": "fuzzed", "schema": {"columns": [{"type": "LONG", "name": "n"}]}},
            ).json()
            api.put(f"/v1/datasets/{ds['id']}/data", content=b"1\n2\n")
        yield {"server": srv, "started": started}
    finally:
        srv.stop()
        elapsed = time.monotonic() - started
        print(f"\nfuzzing every operation took {elapsed:.0f} s")


def check(case: Any, srv: Server, problems: list[str]) -> None:
    """One example: a reply below 500, and Domo's error body for every error."""
    try:
        response = case.call(base_url=srv.url, headers={"X-DOMO-Developer-Token": srv.dev_token}, timeout=60)
    except Exception as exc:  # a dropped connection, a reset, a timeout
        problems.append(f"{case.method} {case.formatted_path}: no reply ({type(exc).__name__}: {exc})")
        return
    status = response.status_code
    where = f"{case.method} {case.formatted_path} -> {status}"
    if status >= 500:
        problems.append(f"{where}: {response.text[:300]}")
    elif status >= 400:
        try:
            body = response.json()
        except ValueError:
            problems.append(f"{where}: not JSON: {response.text[:300]}")
            return
        ctype = (response.headers.get("content-type") or [""])[0]
        if not ctype.startswith("application/json"):
            problems.append(f"{where}: content-type {ctype}")
        elif not (isinstance(body, dict) and set(body) == ERROR_KEYS and body["status"] == status):
            problems.append(f"{where}: not Domo's error body: {str(body)[:300]}")


def test_no_input_costs_a_500_and_every_error_is_domo_shaped(fuzzed: dict[str, Any]) -> None:
    srv: Server = fuzzed["server"]
    schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations += 1
        for mode, examples in ((GenerationMode.POSITIVE, EXAMPLES), (GenerationMode.NEGATIVE, INVALID)):
            try:
                fuzz(operation.as_strategy(generation_mode=mode), examples, srv, problems)
            except Unsatisfiable:  # nothing to break: no parameter and no body (GET /health, say)
                assert mode is GenerationMode.NEGATIVE, f"{operation.method} {operation.path}: no valid input"
    assert operations >= 100
    assert problems == [], "\n".join(problems[:40])


def fuzz(strategy: Any, examples: int, srv: Server, problems: list[str]) -> None:
    if examples:

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            check(case, srv, problems)

        run()
