"""The drawing at the top of errors.py is the error tree: it names every error class a client can see, each
under its parent, with its HTTP status where it draws one."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import domolite
from domolite import errors
from domolite.errors import DomoError

pytestmark = pytest.mark.unit

BRANCH = re.compile(r"(?:├──|└──) (\w+)(?: \((\d{3})\))?")


def every_error_class() -> list[type[DomoError]]:
    for module in pkgutil.walk_packages(domolite.__path__, "domolite."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[DomoError]] = []
    stack: list[type[DomoError]] = [DomoError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def drawing() -> dict[str, tuple[str | None, int | None]]:
    """Each class the drawing names: (its parent, the status drawn beside it)."""
    lines = (errors.__doc__ or "").splitlines()
    root = next(i for i, line in enumerate(lines) if line.startswith("DomoError"))
    drawn: dict[str, tuple[str | None, int | None]] = {"DomoError": (None, 500)}
    last_at_depth = {0: "DomoError"}
    for line in lines[root + 1 :]:
        branches = list(BRANCH.finditer(line))
        if not branches:
            break
        depth = branches[0].start() // 4 + 1
        for match in branches:
            name, status = match.group(1), match.group(2)
            drawn[name] = (last_at_depth[depth - 1], int(status) if status else None)
        last_at_depth[depth] = branches[-1].group(1)
    return drawn


def test_every_error_class_is_defined_in_errors_py() -> None:
    elsewhere = [f"{c.__module__}.{c.__name__}" for c in every_error_class() if c.__module__ != errors.__name__]
    assert elsewhere == []


def test_the_drawing_names_every_error_class_under_its_parent() -> None:
    drawn = drawing()
    classes = {c.__name__: c for c in every_error_class()}
    assert sorted(set(classes) - set(drawn)) == [], "classes the drawing leaves out"
    assert sorted(set(drawn) - set(classes)) == [], "names the drawing shows that are no class"
    for name, (parent, status) in drawn.items():
        cls = classes[name]
        if parent is not None:
            assert cls.__bases__[0].__name__ == parent, f"{name} is drawn under {parent}"
        if status is not None:
            assert cls.status == status, f"{name} is drawn with status {status}"
