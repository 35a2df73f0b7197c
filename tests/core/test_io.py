"""Project files: byte-exact round trips, atomic saves, and errors that name the file, the field and the row."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core.scenario.io as scenario_io
from core.errors import ScenarioError
from core.scenario.io import SCHEMA_VERSION, dumps_project, load_project, loads_project, save_project
from core.scenario.model import (
    ASSET_KINDS,
    STORAGE_KINDS,
    Asset,
    BidBlock,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
)

REPO = Path(__file__).resolve().parents[2]
PROJECTS = sorted((REPO / "projects").glob("*.json"))
TEACHING = REPO / "projects" / "teaching-5bus.json"


def test_the_bundled_projects_are_there():
    assert {p.name for p in PROJECTS} >= {"teaching-5bus.json", "ieee33-community.json", "synthetic-1000bus.json"}


# ---------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PROJECTS, ids=lambda p: p.name)
def test_load_then_save_is_byte_exact(path, tmp_path):
    original = path.read_bytes()
    out = save_project(load_project(path), tmp_path / path.name)
    assert out.read_bytes() == original


@pytest.mark.parametrize("path", PROJECTS, ids=lambda p: p.name)
def test_save_then_load_gives_an_equal_scenario(path, tmp_path):
    s = load_project(path)
    s2 = load_project(save_project(s, tmp_path / "copy.json"))
    assert s2 == s
    assert s2 is not s


def test_the_file_is_readable_json_with_a_version():
    data = json.loads(TEACHING.read_text(encoding="utf-8"))
    assert data["format"] == "feeder-market-project"
    assert data["schema_version"] == SCHEMA_VERSION == 1
    # one record per line: each bus sits on its own line of text
    assert '        {"id": "S", "name": "Substation"},\n' in TEACHING.read_text(encoding="utf-8")


def test_defaults_are_left_out():
    s = load_project(TEACHING)
    text = dumps_project(s)
    assert '"step_h"' not in text  # 1.0 is the default
    assert '"validate"' not in text  # not data
    assert '"start_hour": 12.0' in text


def test_bus_coordinates_are_written_only_when_given():
    s = load_project(TEACHING)
    assert '"x"' not in dumps_project(s)  # older files (no coordinates) are written as they were
    bs = tuple(replace(b, x=7.5 + k * 0.001, y=48.25 - k * 0.002) for k, b in enumerate(s.feeder.buses))
    s2 = replace(s, feeder=replace(s.feeder, buses=bs))
    text = dumps_project(s2)
    assert '{"id": "S", "name": "Substation", "x": 7.5, "y": 48.25}' in text
    assert loads_project(text) == s2


def test_a_bus_with_one_coordinate_names_the_file_field_and_row(tmp_path):
    data = json.loads(TEACHING.read_text(encoding="utf-8"))
    data["scenario"]["feeder"]["buses"][2]["x"] = 3.0
    data["scenario"]["feeder"]["buses"][3]["x"] = "east"
    path = tmp_path / "half.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    err = info.value
    assert str(path) in str(err)
    assert [(p.field, p.row) for p in err.problems] == [("feeder.buses[3].x", 3)]  # the type first
    data["scenario"]["feeder"]["buses"][3]["x"] = None
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert [(p.field, p.row) for p in info.value.problems] == [("feeder.buses[2].y", 2)]
    assert "both coordinates" in str(info.value)


# --- property: any valid scenario survives text exactly --------------------

AWKWARD = [0.1 + 0.2, 1e-300, 5e-324, 2.2250738585072014e-308, 1 / 3, 123456789.12345679, 1e22, 1.7976931348623157e308]


def finite(lo: float | None = None, hi: float | None = None, *, exclude_min: bool = False) -> st.SearchStrategy[float]:
    base = st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False, exclude_min=exclude_min)
    awkward = [
        v
        for v in AWKWARD + [-v for v in AWKWARD]
        if (lo is None or v > lo or (v == lo and not exclude_min)) and (hi is None or v <= hi)
    ]
    return st.one_of(st.sampled_from(awkward), base) if awkward else base


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no lone surrogates: not valid UTF-8
ident = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=6).filter(str.strip)


def profile(T: int, lo=None, hi=None) -> st.SearchStrategy[tuple[float, ...]]:
    return st.lists(finite(lo, hi), min_size=T, max_size=T).map(tuple)


@st.composite
def assets(draw, T: int) -> Asset:
    kind = draw(st.sampled_from(ASSET_KINDS))
    p_max = draw(finite(0.0, 1e6))
    p_min = draw(finite(-p_max, 0.0)) if kind in STORAGE_KINDS else draw(finite(0.0, p_max))
    return Asset(
        kind=kind,
        p_max_kw=p_max,
        p_min_kw=p_min,
        ramp_kw_per_period=draw(st.none() | finite(0.0, exclude_min=True)),
        efficiency=draw(finite(0.0, 1.0, exclude_min=True)),
        cost_a_per_kw2h=draw(finite(0.0)),
        cost_b_per_kwh=draw(finite()),
        availability_pu=draw(st.none() | profile(T, 0.0, 1.0)),
        energy_kwh=draw(st.none() | finite(0.0, exclude_min=True)),
        soc_init_pu=draw(finite(0.0, 1.0)),
    )


TRANSFORMERS = st.builds(
    Transformer,
    tap_ratio=finite(0.5, 2.0),
    shift_deg=finite(-360.0, 360.0),
    g_mag_us=finite(0.0),
    b_mag_us=finite(None, 0.0),
)
NO_SHUNT = st.just((0.0, 0.0))
SHUNTS = NO_SHUNT | st.tuples(finite(0.0), finite())


@st.composite
def scenarios(draw) -> Scenario:
    T = draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    bus_ids = draw(st.lists(ident, min_size=n, max_size=n, unique=True))
    physics = draw(st.booleans())  # shunts and transformers in this scenario (drawn element by element)
    shunts = SHUNTS if physics else NO_SHUNT
    buses = []
    for b in bus_ids:
        lim = draw(st.none() | st.lists(finite(0.0, exclude_min=True), min_size=2, max_size=2, unique=True).map(sorted))
        shunt = draw(shunts)
        xy = draw(st.none() | st.tuples(finite(), finite()))
        buses.append(Bus(b, draw(text), *(lim or (None, None)), *shunt, *(xy or (None, None))))
    lines = []
    for k in range(1, n):  # a random tree: bus k hangs off an earlier bus
        parent = bus_ids[draw(st.integers(0, k - 1))]
        ends = (parent, bus_ids[k]) if draw(st.booleans()) else (bus_ids[k], parent)
        r = draw(finite(0.0))
        x = draw(finite(0.0, exclude_min=(r == 0.0)))
        shunt = draw(shunts)
        lines.append(
            Line(
                f"L{k}",
                *ends,
                r_ohm=r,
                x_ohm=x,
                rating_kva=draw(st.none() | finite(0.0, exclude_min=True)),
                rating_a=draw(st.none() | finite(0.0, exclude_min=True)),
                name=draw(text),
                g_shunt_us=shunt[0],
                b_shunt_us=shunt[1],
                transformer=draw(st.none() | TRANSFORMERS) if physics else None,
            )
        )
    v_min, v_max = sorted(draw(st.lists(finite(0.0, exclude_min=True), min_size=2, max_size=2, unique=True)))
    feeder = Feeder(
        base_kv=draw(finite(0.0, exclude_min=True)),
        base_kva=draw(finite(0.0, exclude_min=True)),
        substation=Substation(draw(st.sampled_from(bus_ids)), draw(finite(0.8, 1.2)), draw(profile(T))),
        buses=tuple(buses),
        lines=tuple(lines),
        v_min_pu=v_min,
        v_max_pu=v_max,
    )
    prices = draw(st.lists(st.lists(finite(), min_size=2, max_size=2).map(sorted), min_size=T, max_size=T))
    tariffs = Tariffs(tuple(hi for _, hi in prices), tuple(lo for lo, _ in prices))
    prosumers = []
    for i, pid in enumerate(draw(st.lists(ident, max_size=5, unique=True))):
        bids = draw(
            st.lists(
                st.builds(
                    BidBlock,
                    st.sampled_from(["buy", "sell"]),
                    finite(),
                    finite(0.0, exclude_min=True),
                    st.none() | st.integers(0, T - 1),
                ),
                max_size=2,
            )
        )
        flexible = draw(st.none() | st.builds(FlexibleLoad, profile(T, 0.0), finite(0.0), finite()))
        prosumers.append(
            Prosumer(
                id=pid,
                bus=draw(st.sampled_from(bus_ids)),
                demand_kw=draw(profile(T, 0.0)),
                name=draw(text) if i % 2 else "",
                asset=draw(st.none() | assets(T)),
                flexible=flexible,
                power_factor=draw(finite(0.0, 1.0, exclude_min=True)),
                demand_kvar=draw(st.none() | profile(T)),
                bids=tuple(bids),
            )
        )
    return Scenario(
        name=draw(text),
        currency=draw(st.sampled_from(["EUR", "¢", "$", "£"])),
        description=draw(text),
        feeder=feeder,
        horizon=TimeHorizon(T, draw(finite(0.0, 24.0, exclude_min=True)), draw(finite(0.0, 23.99))),
        tariffs=tariffs,
        prosumers=tuple(prosumers),
    )


@pytest.fixture(scope="module")
def any_magnitude():
    """The exact-text tests write every finite float, 1e308 included: the plausibility bounds (tested in
    test_model) are lifted for them, the structural checks stay."""
    from unittest import mock

    with mock.patch("core.scenario.model._plausible", lambda c, s: None):
        yield


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scenarios())
def test_any_valid_scenario_round_trips_exactly(any_magnitude, s):
    text1 = dumps_project(s)
    s2 = loads_project(text1)
    assert s2 == s
    assert dumps_project(s2) == text1  # and the text is a fixed point


def test_a_transformer_and_shunts_round_trip_and_stay_short():
    s = load_project(TEACHING)
    tr = Transformer(tap_ratio=1.025, shift_deg=150.0, g_mag_us=3125.0, b_mag_us=-3903.1)
    s = s.with_line(0, replace(s.feeder.lines[0], transformer=tr, b_shunt_us=12.5))
    s = s.with_bus(1, replace(s.feeder.buses[1], b_shunt_us=2500.0))
    text = dumps_project(s)
    assert loads_project(text) == s and dumps_project(loads_project(text)) == text
    assert '"transformer": {"tap_ratio": 1.025, "shift_deg": 150.0, "g_mag_us": 3125.0, "b_mag_us": -3903.1}' in text
    assert text.count('"transformer"') == 1 and text.count('"b_shunt_us"') == 2  # defaults left out
    # a transformer that only has a tap writes only the tap
    s = s.with_line(0, replace(s.feeder.lines[0], transformer=Transformer(tap_ratio=0.975)))
    assert '"transformer": {"tap_ratio": 0.975}' in dumps_project(s)


def test_a_bad_transformer_field_in_a_file_names_it(tmp_path):
    data = json.loads(TEACHING.read_text(encoding="utf-8"))
    data["scenario"]["feeder"]["lines"][2]["transformer"] = {"tap_ratio": "high", "shift_degree": 30.0}
    with pytest.raises(ScenarioError) as ei:
        loads_project(json.dumps(data))
    fields = [(p.field, p.row) for p in ei.value.problems]
    assert ("feeder.lines[2].transformer.tap_ratio", 2) in fields
    assert ("feeder.lines[2].transformer.shift_degree", 2) in fields
    assert any("did you mean 'shift_deg'" in p.message for p in ei.value.problems)


def test_awkward_floats_keep_every_digit(any_magnitude):
    s = load_project(TEACHING)
    odd = (0.1 + 0.2, 1e-300, 1.7976931348623157e308, 5e-324)
    ln = replace(s.feeder.lines[0], r_ohm=odd[0], x_ohm=odd[1], rating_kva=odd[2], rating_a=odd[3])
    s = s.with_line(0, ln)
    text = dumps_project(s)
    assert "0.30000000000000004" in text and "1e-300" in text and "1.7976931348623157e+308" in text
    assert loads_project(text).feeder.lines[0] == ln


# ---------------------------------------------------------------------------
# atomic save
# ---------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise OSError("disk pulled out mid-save")


@pytest.mark.parametrize("step", ["replace", "fsync"])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(step, tmp_path, monkeypatch):
    target = tmp_path / "project.json"
    target.write_bytes(TEACHING.read_bytes())
    before = target.read_bytes()
    changed = replace(load_project(TEACHING), name="changed")
    monkeypatch.setattr(scenario_io.os, step, _boom)
    with pytest.raises(OSError, match="mid-save"):
        save_project(changed, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.json"]


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(scenario_io.os, "replace", _boom)
    with pytest.raises(OSError):
        save_project(load_project(TEACHING), tmp_path / "new.json")
    assert list(tmp_path.iterdir()) == []


def test_a_save_keeps_the_file_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "project.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o600)
    save_project(load_project(TEACHING), target)
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]
    assert target.read_bytes() == TEACHING.read_bytes()


def test_save_creates_missing_folders(tmp_path):
    out = save_project(load_project(TEACHING), tmp_path / "a" / "b" / "p.json")
    assert out.read_bytes() == TEACHING.read_bytes()


# ---------------------------------------------------------------------------
# errors name the file, the field and the row
# ---------------------------------------------------------------------------


def teaching_data() -> dict:
    return json.loads(TEACHING.read_text(encoding="utf-8"))


def load_error(tmp_path: Path, data_or_text, name: str = "broken.json") -> ScenarioError:
    path = tmp_path / name
    text = data_or_text if isinstance(data_or_text, str) else json.dumps(data_or_text, indent=2)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    err = info.value
    assert err.file == str(path)
    assert str(err).startswith(f"{path}: ")
    return err


def test_a_newer_schema_version(tmp_path):
    data = teaching_data()
    data["schema_version"] = 99
    err = load_error(tmp_path, data)
    assert err.field == "schema_version"
    assert "newer" in str(err) and "99" in str(err)


@pytest.mark.parametrize("version", [0, "1", 1.5, None])
def test_a_bad_schema_version(tmp_path, version):
    data = teaching_data()
    data["schema_version"] = version
    assert load_error(tmp_path, data).field == "schema_version"


def test_not_a_project(tmp_path):
    err = load_error(tmp_path, {"format": "something-else", "schema_version": 1, "scenario": {}})
    assert err.field == "format"
    assert "not a Feeder Market project" in str(err)
    assert "JSON object" in str(load_error(tmp_path, "[1, 2]"))


def test_not_json_names_the_line(tmp_path):
    text = '{\n  "format": "feeder-market-project",\n  "schema_version": 1\n  "scenario": {}\n}\n'  # no comma, line 4
    err = load_error(tmp_path, text)
    assert "not valid JSON" in str(err)
    assert "line 4" in str(err)
    assert err.row == 4


def test_a_missing_required_field(tmp_path):
    data = teaching_data()
    del data["scenario"]["feeder"]["lines"][1]["r_ohm"]
    err = load_error(tmp_path, data)
    assert [(p.field, p.row) for p in err.problems] == [("feeder.lines[1].r_ohm", 1)]
    assert "feeder.lines[1].r_ohm" in str(err) and "is missing" in str(err)


def test_an_unknown_field_suggests_the_right_one(tmp_path):
    data = teaching_data()
    line = data["scenario"]["feeder"]["lines"][2]
    line["r_ohms"] = line.pop("r_ohm")
    err = load_error(tmp_path, data)
    fields = [(p.field, p.row) for p in err.problems]
    assert fields[0] == ("feeder.lines[2].r_ohms", 2)
    assert "did you mean 'r_ohm'" in str(err)
    assert ("feeder.lines[2].r_ohm", 2) in fields  # and so the real one is missing


def test_an_unknown_top_level_field(tmp_path):
    data = teaching_data()
    data["scenarios"] = {}
    assert load_error(tmp_path, data).field == "scenarios"


def test_a_string_where_a_number_belongs(tmp_path):
    data = teaching_data()
    data["scenario"]["prosumers"][3]["asset"]["p_max_kw"] = "1.0"
    err = load_error(tmp_path, data)
    assert [(p.field, p.row) for p in err.problems] == [("prosumers[3].asset.p_max_kw", 3)]
    assert "must be a number" in str(err)


def test_a_number_where_a_list_belongs(tmp_path):
    data = teaching_data()
    data["scenario"]["prosumers"][0]["demand_kw"] = 0.0
    assert load_error(tmp_path, data).field == "prosumers[0].demand_kw"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_name_the_field(tmp_path, literal):
    text = TEACHING.read_text(encoding="utf-8")
    assert text.count('"r_ohm": 0.08') == 1
    err = load_error(tmp_path, text.replace('"r_ohm": 0.08', f'"r_ohm": {literal}'))
    assert [(p.field, p.row) for p in err.problems] == [("feeder.lines[1].r_ohm", 1)]
    assert "feeder.lines[1].r_ohm" in str(err) and "finite" in str(err)


def _number_paths(data, path=""):
    """Every number in a scenario's plain data, with its field path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _number_paths(v, f"{path}.{k}" if path else k)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _number_paths(v, f"{path}[{i}]")
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path


def _set(data, path, value):
    keys = path.replace("]", "").replace("[", ".").split(".")
    for k in keys[:-1]:
        data = data[int(k)] if isinstance(data, list) else data[k]
    last = keys[-1]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def test_nan_anywhere_is_refused_at_its_own_field():
    """No number field of the model lets a NaN through (every optional field is set here)."""
    T = 2
    s = Scenario(
        name="all fields",
        feeder=Feeder(
            base_kv=11.0,
            base_kva=1000.0,
            substation=Substation("S", 1.0, (0.1, 0.1)),
            buses=(Bus("S", "", 0.9, 1.1), Bus("A")),
            lines=(Line("L", "S", "A", 0.1, 0.2, rating_kva=100.0, rating_a=10.0),),
            v_min_pu=0.9,
            v_max_pu=1.1,
        ),
        horizon=TimeHorizon(T, 0.5, 6.0),
        tariffs=Tariffs((0.3, 0.3), (0.1, 0.1)),
        prosumers=(
            Prosumer(
                "p",
                "A",
                (1.0, 2.0),
                power_factor=0.9,
                demand_kvar=(0.5, 0.5),
                asset=Asset("battery", 5.0, -4.0, 2.0, 0.9, 0.01, 0.02, (1.0, 0.5), 10.0, 0.4),
                flexible=FlexibleLoad((1.0, 1.0), 0.1, 0.3),
                bids=(BidBlock("buy", 0.2, 1.0, 1),),
            ),
        ),
    )
    data = scenario_io.scenario_to_data(s)
    paths = list(_number_paths(data["scenario"]))
    assert len(paths) > 40  # the walk saw the whole tree
    for path in paths:
        broken = json.loads(json.dumps(data))
        _set(broken["scenario"], path, float("nan"))
        with pytest.raises(ScenarioError) as info:
            loads_project(json.dumps(broken), file="x.json")
        assert path in [p.field for p in info.value.problems], path
        assert str(info.value).startswith("x.json: ")


def test_a_validation_problem_in_a_file_names_the_file(tmp_path):
    data = teaching_data()
    data["scenario"]["prosumers"][4]["asset"]["efficiency"] = 1.5
    err = load_error(tmp_path, data, name="eta.json")
    assert [(p.field, p.row, p.row_id) for p in err.problems] == [("prosumers[4].asset.efficiency", 4, "S2")]
    assert "eta.json" in str(err) and "prosumers[4].asset.efficiency" in str(err) and "'S2'" in str(err)


def test_every_problem_in_a_file_is_listed(tmp_path):
    data = teaching_data()
    data["scenario"]["feeder"]["lines"][0]["x_ohm"] = "x"
    data["scenario"]["prosumers"][1]["bids"][0]["side"] = "hold"
    err = load_error(tmp_path, data)
    assert [(p.field, p.row) for p in err.problems] == [
        ("feeder.lines[0].x_ohm", 0),
        ("prosumers[1].bids[0].side", 1),
    ]
    assert "(and 1 more problem)" in str(err)


def test_a_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert info.value.file == str(path)
    assert str(info.value) == f"{path}: no such file"


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert str(info.value) == f"{path}: is not UTF-8 text: byte 0xe9 at line 1 (save it as UTF-8)"


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path):
    # as Notepad saves UTF-8
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(teaching_data()).encode("utf-8"))
    assert load_project(path) == load_project(TEACHING)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"format": "feeder-market-project", "format": "x"}', "the key 'format' appears twice in one object"),
        (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects deeper than a project file can"),
        (
            b'{"format": "feeder-market-project", "schema_version": 1, "scenario": [1]}',
            "field 'scenario': must be an object, got [1]",
        ),
    ],
    ids=["duplicate key", "deep nesting", "scenario as a list"],
)
def test_malformed_json_gets_one_plain_line(tmp_path, content, says):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert str(info.value) == f"{path}: {says}" or str(info.value).startswith(f"{path}: {says}")
    assert len(info.value.problems) == 1


def test_a_number_too_long_for_any_quantity_is_refused_by_its_field(tmp_path):
    data = teaching_data()
    text = json.dumps(data).replace('"base_kv": 0.4', '"base_kv": ' + "9" * 5000, 1)  # no decimal point: an int
    assert "9" * 5000 in text
    path = tmp_path / "long.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert info.value.field == "feeder.base_kv" and "digits" not in str(info.value)


def test_a_folder_and_an_endless_device_are_refused_without_reading_them(tmp_path):
    with pytest.raises(ScenarioError, match="is a folder, not a file"):
        load_project(tmp_path)
    if Path("/dev/zero").exists():
        from core.files import read_text

        with pytest.raises(ScenarioError, match="is larger than 1 MB"):
            read_text("/dev/zero", limit=2**20)  # read no further than the limit


def test_json_errors_read_as_one_sentence(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('{"format": "feeder-market-project", "name": "abc', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_project(path)
    assert (
        str(info.value) == f"{path}: is not valid JSON: Unterminated string starting at line 1, column 45"
    )  # at its quote
