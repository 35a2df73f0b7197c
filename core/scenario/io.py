"""Project files: a versioned, human-readable, diff-friendly JSON format.

A project file is one JSON object::

    {
      "format": "feeder-market-project",
      "schema_version": 1,
      "scenario": { ...the Scenario, field by field, units in the names... }
    }

* Fields equal to their default are left out, so files stay short; every
  record that fits on a line is written on one line (one bus, one line, one
  bid per line of text), numbers keep full precision (``repr``), and lists of
  numbers stay inline — a change to one prosumer is a one-line diff.
* ``save_project(load_project(f))`` writes ``f`` back byte for byte (for files
  this module wrote), and ``load_project(save_project(s)) == s``.
* Saving is atomic: the text goes to a temporary file in the same folder,
  is flushed to disk, then renamed over the target, so a crash never leaves
  half a file.
* A file from a newer version of Feeder Market, a file that is not JSON, or a
  field of the wrong type gives a :class:`~core.errors.ScenarioError` naming the
  file, the field and the row.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from core.errors import Problem, ScenarioError
from core.files import read_text, write_atomic
from core.scenario.model import Scenario

FORMAT_NAME = "feeder-market-project"
SCHEMA_VERSION = 1
_SKIP_FIELDS = {"validate"}


# ---------------------------------------------------------------------------
# dataclass <-> plain data
# ---------------------------------------------------------------------------


def to_data(obj: Any) -> Any:
    """A dataclass tree as plain JSON data; fields equal to their default are omitted."""
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if f.name in _SKIP_FIELDS:
                continue
            value = getattr(obj, f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            if f.default_factory is not dataclasses.MISSING and _same(value, f.default_factory()):
                continue
            out[f.name] = to_data(value)
        return out
    if isinstance(obj, (tuple, list)):
        return [to_data(v) for v in obj]
    return obj


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "an object"
    return {float: "a number", int: "a whole number", str: "a text", bool: "true or false"}.get(tp, str(tp))


class _Loader:
    """Builds dataclasses from plain data, collecting problems with their paths."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._hints: dict[type, dict[str, Any]] = {}

    def fail(self, path: str, message: str) -> None:
        row = _row_of(path)
        self.problems.append(Problem(field=path, message=message, row=row))

    def hints(self, cls: type) -> dict[str, Any]:
        if cls not in self._hints:
            self._hints[cls] = get_type_hints(cls)
        return self._hints[cls]

    def build(self, tp: Any, data: Any, path: str) -> Any:
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            args = get_args(tp)
            if data is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.build(inner[0], data, path)
        if origin is Literal:
            if data not in get_args(tp):
                self.fail(path, f"must be {_type_name(tp)}, got {data!r}")
            return data
        if origin is tuple:
            if not isinstance(data, list):
                self.fail(path, f"must be {_type_name(tp)}, got {_short(data)}")
                return ()
            elem = get_args(tp)[0]
            return tuple(self.build(elem, v, f"{path}[{i}]") for i, v in enumerate(data))
        if dataclasses.is_dataclass(tp):
            return self.build_record(tp, data, path)
        if tp is float:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                self.fail(path, f"must be a number, got {_short(data)}")
                return math.nan
            return float(data)
        if tp is int:
            if isinstance(data, bool) or not isinstance(data, int):
                if isinstance(data, float) and data.is_integer():
                    return int(data)
                self.fail(path, f"must be a whole number, got {_short(data)}")
                return 0
            return data
        if tp is str:
            if not isinstance(data, str):
                self.fail(path, f"must be a text, got {_short(data)}")
                return ""
            return data
        if tp is bool:
            if not isinstance(data, bool):
                self.fail(path, f"must be true or false, got {_short(data)}")
                return False
            return data
        raise TypeError(f"unsupported field type {tp!r} at {path}")  # a bug in the model, not input

    def build_record(self, cls: type, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            self.fail(path or cls.__name__, f"must be an object, got {_short(data)}")
            data = {}
        hints = self.hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in _SKIP_FIELDS}
        for key in data:
            if key not in fields:
                close = _closest(key, fields)
                hint = f" (did you mean '{close}'?)" if close else ""
                self.fail(_join(path, key), f"is not a known field of {cls.__name__}{hint}")
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            if name in data:
                kwargs[name] = self.build(hints[name], data[name], _join(path, name))
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.fail(_join(path, name), "is missing")
                kwargs[name] = _placeholder(hints[name])
        if cls is Scenario:
            kwargs["validate"] = False  # validated once, whole, by the caller
        return cls(**kwargs)


def _placeholder(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is tuple:
        return ()
    if origin in (Union, types.UnionType):
        return None
    return {float: math.nan, int: 0, str: "", bool: False}.get(tp)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _row_of(path: str) -> int | None:
    """The index of the first table row in a field path (``prosumers[3].bus`` → 3)."""
    if "[" in path:
        try:
            return int(path.split("[", 1)[1].split("]", 1)[0])
        except ValueError:
            return None
    return None


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _closest(key: str, names) -> str | None:
    import difflib

    hits = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
    return hits[0] if hits else None


def scenario_from_data(data: Any, file: str | None = None) -> Scenario:
    """Build and validate a :class:`Scenario` from a project's parsed JSON."""
    if not isinstance(data, dict):
        raise ScenarioError("a project file must hold a JSON object", file=file)
    fmt = data.get("format")
    if fmt != FORMAT_NAME:
        raise ScenarioError(
            Problem("format", f"must be '{FORMAT_NAME}', got {fmt!r}: this is not a Feeder Market project"),
            file=file,
        )
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ScenarioError(Problem("schema_version", f"must be a whole number, got {version!r}"), file=file)
    if version > SCHEMA_VERSION:
        raise ScenarioError(
            Problem(
                "schema_version",
                f"is {version}, newer than this Feeder Market reads ({SCHEMA_VERSION}): "
                "update Feeder Market to open it",
            ),
            file=file,
        )
    if version < 1:
        raise ScenarioError(Problem("schema_version", f"must be ≥ 1, got {version}"), file=file)
    extra = set(data) - {"format", "schema_version", "scenario"}
    loader = _Loader()
    for key in sorted(extra):
        loader.fail(key, "is not a known top-level field (expected format, schema_version, scenario)")
    if "scenario" not in data:
        loader.fail("scenario", "is missing")
    body = data.get("scenario", {})
    if not isinstance(body, dict):  # its fields would each be "missing": one line says it all
        raise ScenarioError(Problem("scenario", f"must be an object, got {_short(body)}"), file=file)
    scenario = loader.build_record(Scenario, body, "")
    if loader.problems:
        raise ScenarioError(loader.problems, file=file)
    try:
        return dataclasses.replace(scenario, validate=True)
    except ScenarioError as err:
        raise err.with_file(file) if file else err from None


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    return {"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION, "scenario": to_data(scenario)}


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------

_LINE_WIDTH = 110


def dumps_project(scenario: Scenario) -> str:
    """The project file's text (deterministic: the same scenario, the same bytes)."""
    return _format(scenario_to_data(scenario), 0) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


def _format(value: Any, indent: int) -> str:
    """JSON with records on one line when they fit, else one field per line."""
    one = _compact(value)
    if not isinstance(value, (dict, list)) or indent + len(one) <= _LINE_WIDTH:
        return one
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return one  # a profile stays on one line however long
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_format(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _format(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def loads_project(text: str, file: str | None = None) -> Scenario:
    """Parse a project file's text (errors name ``file`` and the line of a JSON syntax error)."""
    if text.startswith("\ufeff"):  # a byte-order mark, as Notepad writes UTF-8
        text = text[1:]
    try:
        # NaN/Infinity are parsed, then refused by validation, which names the field; so is a number too long to
        # be a quantity (read as a float: infinite); a key twice in one object is refused, naming it
        data = json.loads(text, parse_constant=float, parse_int=_int, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise ScenarioError(
            Problem(
                "",
                f"is not valid JSON: {_json_words(err.msg)} at line {err.lineno}, column {err.colno}",
                row=err.lineno,
            ),
            file=file,
        ) from None
    except RecursionError:
        raise ScenarioError(_TOO_DEEP, file=file) from None
    except ValueError as err:
        raise ScenarioError(str(err), file=file) from None
    try:
        return scenario_from_data(data, file=file)
    except RecursionError:
        raise ScenarioError(_TOO_DEEP, file=file) from None


def _json_words(msg: str) -> str:
    """Python's JSON message without its own trailing "at" (which ours adds: "starting at at line")."""
    msg = msg.strip()
    return msg[: -len(" at")] if msg.endswith(" at") else msg


_TOO_DEEP = "nests lists or objects deeper than a project file can (is it one?)"


def _int(text: str) -> int | float:
    """A JSON integer; one too long to be any quantity becomes a float (infinite), which validation refuses by
    its field and row instead of Python's digit limit."""
    return int(text) if len(text) <= 300 else float(text)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key '{key}' appears twice in one object (which one was meant?)")
        out[key] = value
    return out


def load_project(path: str | os.PathLike[str]) -> Scenario:
    """Read a project file. Raises :class:`ScenarioError` naming the file on any problem."""
    p = Path(path)
    return loads_project(read_text(p), file=str(p))


def save_project(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write ``scenario`` to ``path`` atomically (temporary file, fsync, rename)."""
    text = dumps_project(scenario)
    return write_atomic(path, lambda fh: fh.write(text))


__all__ = [
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "dumps_project",
    "load_project",
    "loads_project",
    "save_project",
    "scenario_from_data",
    "scenario_to_data",
    "to_data",
]
