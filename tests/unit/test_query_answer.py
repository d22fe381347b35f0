"""The one shape of a query answer (api/public/schemas.py:query_out): the public API's form and the instance
API's, member for member and in order, as the clients read them."""

from __future__ import annotations

import orjson
import pytest

from domolite.api.public.schemas import query_out
from domolite.models.records import DomoType
from domolite.query.door import QueryResult
from tests.unit.records import dataset

pytestmark = pytest.mark.unit

RESULT = QueryResult(columns=["region", "amount"], types=[DomoType.STRING, DomoType.LONG], row_count=1, rows_json=[])


def test_the_public_answer_has_no_column_flags_and_no_duration() -> None:
    head, tail = query_out(dataset(), RESULT)
    assert orjson.dumps(head) == (
        b'{"datasource":"ds-1","columns":["region","amount"],"metadata":['
        b'{"type":"STRING","dataSourceId":"ds-1","maxLength":-1,"minLength":-1,"periodIndex":0},'
        b'{"type":"LONG","dataSourceId":"ds-1","maxLength":-1,"minLength":-1,"periodIndex":0}]}'
    )
    assert orjson.dumps(tail) == b'{"numRows":1,"numColumns":2,"fromcache":false}'


def test_the_instance_answer_flags_each_column_and_says_how_long_it_took() -> None:
    head, tail = query_out(dataset(), RESULT, duration_ms=12)
    assert orjson.dumps(head["metadata"][1]) == (
        b'{"type":"LONG","dataSourceId":"ds-1","maxLength":-1,"minLength":-1,"periodIndex":0,'
        b'"aggregated":false,"analytic":false}'
    )
    assert orjson.dumps(tail) == b'{"numRows":1,"numColumns":2,"fromcache":false,"duration":"12"}'
