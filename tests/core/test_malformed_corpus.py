"""A corpus of malformed project files, generated here from the teaching project, through validate, clear and flow:
every one gets a plain error (exit 1, no traceback), none is accepted, none hangs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cli import main

TEACHING = Path(__file__).resolve().parents[2] / "projects" / "teaching-5bus.json"


def _numbers(node, path=()):
    """Every numeric leaf of the JSON tree: (path, value)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numbers(v, (*path, i))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, node


def _set(data, path, value):
    data = json.loads(json.dumps(data))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def corpus() -> list[tuple[str, bytes]]:
    """At least 150 (name, bytes) malformed files, the same every run (a seeded generator)."""
    rng = random.Random(2026)
    text = TEACHING.read_text(encoding="utf-8")
    data = json.loads(text)
    out: list[tuple[str, bytes]] = []
    # broken syntax: truncated, bytes flipped, not UTF-8, empty, nested without end, keys twice
    for _ in range(25):
        cut = rng.randrange(1, len(text) - 1)
        out.append((f"truncated-{cut}", text[:cut].encode()))
    for _ in range(15):
        raw = bytearray(text.encode())
        i = rng.randrange(len(raw))
        raw[i] = rng.choice(b'{}[]",:\\\x00\xff')
        if raw == text.encode():
            continue
        try:
            json.loads(bytes(raw).decode("utf-8"))
            continue  # the flip kept it valid JSON (then it is tested below by the numbers it changed, if any)
        except (ValueError, UnicodeDecodeError):
            out.append((f"flipped-{i}", bytes(raw)))
    out += [
        ("empty", b""),
        ("not-utf8", text.replace("Teaching", "Tëaching").encode("latin-1")),
        ("deep-list", b"[" * 50_000 + b"]" * 50_000),
        (
            "deep-in-field",
            text.replace('"name": "Teaching', '"name": ' + "[" * 20_000 + "1" + "]" * 20_000 + ', "x": "', 1).encode(),
        ),
        ("duplicate-key", text.replace('"format":', '"format": "x", "format":', 1).encode()),
        ("list", b"[1, 2, 3]"),
        ("scenario-list", json.dumps({**data, "scenario": [1]}).encode()),
        ("no-format", json.dumps({k: v for k, v in data.items() if k != "format"}).encode()),
        ("future-version", json.dumps({**data, "schema_version": 99}).encode()),
        ("long-number", text.replace('"base_kv": 0.4', '"base_kv": ' + "7" * 5000, 1).encode()),
    ]
    # well-formed JSON, wrong numbers: each numeric field set to what no feeder has
    bad_values = [1e300, "text", None, [], {}, True]  # never a valid number (a negative one may be: prices)
    for path, _ in _numbers(data["scenario"]):
        for value in rng.sample(bad_values, 2):  # two of them per field
            mutated = _set(data, ("scenario", *path), value)
            if mutated == data:
                continue
            out.append(("/".join(map(str, path)) + f"={value!r}", json.dumps(mutated).encode()))
    # structure: a required field gone, an unknown one added, a bus that is not there
    for key in ("feeder", "horizon", "tariffs", "name"):  # (no prosumers is a valid, empty market)
        out.append(
            (
                f"no-{key}",
                json.dumps(_set(data, ("scenario",), {k: v for k, v in data["scenario"].items() if k != key})).encode(),
            )
        )
    out.append(("unknown-field", json.dumps(_set(data, ("scenario", "feeder", "colour"), "red")).encode()))
    out.append(("no-such-bus", json.dumps(_set(data, ("scenario", "prosumers", 0, "bus"), "nowhere")).encode()))
    return out


CORPUS = corpus()


def test_the_corpus_is_large_enough_and_each_file_is_different():
    assert len(CORPUS) >= 150
    assert len({content for _, content in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(
    "command", [["validate"], ["clear", "--no-audit"], ["flow"]], ids=["validate", "clear", "flow"]
)
def test_every_malformed_file_gets_a_plain_error(tmp_path, capsys, command):
    refused = []
    for k, (name, content) in enumerate(CORPUS):
        path = tmp_path / f"bad-{k}.json"
        path.write_bytes(content)
        code = main([command[0], str(path), *command[1:]])
        out, err = capsys.readouterr()
        assert code == 1, (name, code, out[:200], err[:300])  # 1: invalid input, never accepted
        assert err.startswith("error: ") and "Traceback" not in err and "Error:" not in err.split(":", 1)[1][:40], (
            name,
            err[:300],
        )
        first = err.splitlines()[0]
        assert str(path) in first and len(first) < 400, (name, first)  # names the file, one readable line
        refused.append(name)
    assert len(refused) == len(CORPUS)


def _paths(node, path=()):
    """Every place in the JSON tree a value can go: (path) of each node below the root."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from _paths(v, (*path, i))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has no infinity (NaN and Infinity literals: the corpus)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PLACES = sorted(_paths(json.loads(TEACHING.read_text(encoding="utf-8"))), key=str)


@settings(max_examples=300, deadline=None)
@given(place=st.sampled_from(PLACES), value=JSON_VALUES)
def test_any_json_value_in_any_field_gives_a_scenario_or_a_scenario_error(place, value):
    from core.errors import ScenarioError
    from core.scenario.io import loads_project
    from core.scenario.model import Scenario

    data = _set(json.loads(TEACHING.read_text(encoding="utf-8")), place, value)
    try:
        result = loads_project(json.dumps(data, allow_nan=False))
    except ScenarioError as err:
        assert str(err)  # a message, naming what is wrong
    else:
        assert isinstance(result, Scenario)
