"""YAML documents that remember where each value came from, and errors that say where.

PyYAML's own loader forgets positions and reads YAML 1.1 surprises (``no`` is False, ``15:00`` is
the integer 900). Policies are read from the node tree instead, with a small, predictable scalar
rule: quoted scalars are strings; plain ``null``/``~``/empty is None, ``true``/``false`` are
booleans, digits are integers, and everything else (times, dates, decimals) stays a string for the
schema to parse. Duplicate keys are errors, not silent overwrites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["Issue", "LocatedDocument", "LocatedError", "parse_located", "validate_located"]

Path = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
_INT = re.compile(r"[-+]?[0-9]+")
_ALIAS = "YAML aliases (*name) are not supported; write the value out"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a file, at 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class LocatedError(Exception):
    """A file was rejected; ``issues`` lists every problem found, each with its place."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.column))
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(slots=True)
class LocatedDocument:
    file: str
    data: Any
    values: dict[Path, tuple[int, int]]
    keys: dict[Path, tuple[int, int]]

    def where(self, path: Iterable[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of ``path``, or of its nearest ancestor that exists in the file."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return (1, 1)
            p = p[:-1]

    def issue(self, path: Iterable[str | int], message: str, *, key: bool = False) -> Issue:
        line, col = self.where(path, key=key)
        return Issue(self.file, line, col, message)


def parse_located(text: str, file: str) -> LocatedDocument:
    """Parse YAML ``text``; raises ``LocatedError`` for syntax errors and duplicate keys."""
    try:
        # Aliases are refused before anything is built: expanding them can recurse for ever or
        # blow up (a "billion laughs"), and a policy reads better with its values written out.
        aliases = [
            Issue(file, *_place(ev.start_mark), _ALIAS)
            for ev in yaml.parse(text, Loader=yaml.SafeLoader)
            if isinstance(ev, yaml.AliasEvent)
        ]
        if aliases:
            raise LocatedError(aliases)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise LocatedError([Issue(file, line, col, f"YAML syntax: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise LocatedError([Issue(file, 1, 1, f"YAML: {exc}")]) from None
    doc = LocatedDocument(file=file, data=None, values={}, keys={})
    issues: list[Issue] = []
    doc.data = _build(root, (), doc, issues) if root is not None else {}
    if issues:
        raise LocatedError(issues)
    return doc


def _build(node: yaml.Node, path: Path, doc: LocatedDocument, issues: list[Issue]) -> Any:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = _scalar(knode) if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str | int) or isinstance(key, bool):
                issues.append(_at(doc.file, knode, "a key must be a plain name"))
                continue
            child = (*path, key)
            if key in out:
                issues.append(_at(doc.file, knode, f"duplicate key {key!r}"))
                continue
            doc.keys[child] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            out[key] = _build(vnode, child, doc, issues)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, issues) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    value: str = node.value
    if node.style is not None:
        return value
    low = value.lower()
    if low in ("", "~", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(value):
        return int(value)
    return value


def _place(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _at(file: str, node: yaml.Node, message: str) -> Issue:
    return Issue(file, node.start_mark.line + 1, node.start_mark.column + 1, message)


def validate_located(model: type[M], doc: LocatedDocument) -> M:
    """Validate ``doc`` against ``model``; raises ``LocatedError`` listing every problem."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        issues = [_issue_from_pydantic(doc, model, err) for err in exc.errors(include_url=False)]
        raise LocatedError(issues) from None


def _issue_from_pydantic(doc: LocatedDocument, model: type[BaseModel], err: Any) -> Issue:
    path = _real_path(doc.data, err["loc"])
    dotted = ".".join(str(p) for p in path) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, path[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return doc.issue(path, f"{dotted}: unknown key{hint}", key=True)
    if kind == "missing":
        return doc.issue(path[:-1], f"{dotted}: required, but missing", key=True)
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = err.get("input")
    container = isinstance(got, dict | list)
    if kind not in ("value_error", "assertion_error") and not container:
        msg = f"{msg} (got {got!r})"
    # A rule about a whole mapping or list is reported where its key is written.
    return doc.issue(path, f"{dotted}: {msg}", key=container)


def _real_path(data: Any, loc: Sequence[Any]) -> Path:
    """Drop pydantic's union and validator tags from ``loc``, keeping only real keys."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_map = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_map or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str) and not _looks_like_tag(part):
            out.append(part)
            node = None
    return tuple(out)


def _looks_like_tag(part: str) -> bool:
    return "[" in part or part in ("str", "list[str]", "int", "float", "bool", "dict")


def _allowed_keys(model: type[BaseModel], path: Path) -> list[str]:
    """The keys a mapping at ``path`` accepts, following fields, list items and dict values."""
    annotation: Any = model
    for part in path:
        origin = getattr(annotation, "__origin__", None)
        if origin in (list, dict) or isinstance(part, int):
            annotation = _element(annotation)
            continue
        found = _inner_model(annotation)
        if found is None or part not in found.model_fields:
            return []
        annotation = found.model_fields[part].annotation
    found = _inner_model(annotation)
    if found is None:
        return []
    return [f.alias or name for name, f in found.model_fields.items()]


def _element(annotation: Any) -> Any:
    """The item type of ``list[X]`` or value type of ``dict[K, X]`` (through Optional)."""
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) in (list, dict) and args:
        return args[-1]
    for arg in args:
        if getattr(arg, "__origin__", None) in (list, dict):
            return _element(arg)
    return annotation


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
