"""The report as a file: the PDF read back, figures drawn from the result with no widget, the headless command."""

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QGraphicsProxyWidget, QGraphicsWidget, QWidget

from core.market import MarketSettings, clear
from core.scenario.generate import ieee33_community, teaching_5bus
from core.units import MONEY, PRICE, fmt
from gui.report import draw_figures, report_command, write_report

pypdf = pytest.importorskip("pypdf")
PROJECTS = sorted((Path(__file__).resolve().parents[2] / "projects").glob("*.json"))


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def network():
    s = ieee33_community()
    return s, clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))


def test_the_pdf_reads_back_with_its_headline_numbers(qapp, network, tmp_path):
    s, r = network
    path, _ = write_report(tmp_path / "report.pdf", s, r)
    assert path.read_bytes().startswith(b"%PDF-")
    pages, text = _pdf_text(path)
    assert pages >= 3
    flat = " ".join(text.split())
    su = r.summary
    for number in (
        fmt(su["welfare"], MONEY, "EUR"),
        fmt(su["gain_over_outside"], MONEY, "EUR"),
        fmt(su["price_per_kwh"], PRICE, "EUR"),
        f"{fmt(su['v_min_pu'], 'p.u.')} p.u.",
        f"{fmt(su['max_loading_pct'], '%')} %",
    ):
        assert number in flat, number
    assert f"page 1 of {pages}" in flat and f"page {pages} of {pages}" in flat
    assert "Traceback" not in flat and "price_per_kwh" not in flat


def test_letter_pages_are_letter(qapp, tmp_path):
    s = teaching_5bus()
    r = clear(s, MarketSettings(mechanism="vcg"))
    path, _ = write_report(tmp_path / "report.pdf", s, r, page="Letter")
    box = pypdf.PdfReader(str(path)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # 8.5 × 11 in
    _, text = _pdf_text(path)
    assert "−2.00 ¢" in " ".join(text.split())  # the VCG deficit of the chapter's example


def test_no_figure_contains_a_widget(qapp, network):
    from gui.figures.render import Canvas

    s, r = network
    before = set(QApplication.allWidgets())
    figures = draw_figures(s, r)
    assert {"feeder", "supply_demand", "day_prices", "dlmp_parts", "market_power"} <= set(figures)
    for key, fig in figures.items():
        assert isinstance(fig.item, QGraphicsWidget) and not isinstance(fig.item, QWidget), key
        assert fig.caption and r.settings.network != "none"
        canvas = Canvas(fig)
        try:
            assert canvas.widgets() == [], key
            assert not any(isinstance(it, QGraphicsProxyWidget) for it in canvas.scene.items()), key
            # the only widgets made are the offscreen host views of the figures, never shown
            new = set(QApplication.allWidgets()) - before
            assert all(not w.isVisible() for w in new), key
            svg = canvas.svg()
            assert svg.startswith(b"<?xml") and len(svg) > 2000, key
        finally:
            canvas.close()


@pytest.mark.parametrize("project", PROJECTS, ids=[p.stem for p in PROJECTS])
def test_the_headless_command_reports_each_bundled_project(qapp, project, tmp_path, capsys):
    out = tmp_path / f"{project.stem}.html"
    assert report_command([str(project), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Summary" in text and "<figure>" in text
    assert capsys.readouterr().out.startswith(f"wrote {out}")


def test_a_project_where_nobody_trades_still_gets_its_report(qapp, tmp_path, capsys):
    """A valid project without prosumers: no mechanism has a gain to share, so none is 'the least efficient' (the
    caption looked up a NaN and the command ended in 'KeyError: nan')."""
    from dataclasses import replace

    from core.scenario.generate import teaching_5bus
    from core.scenario.io import save_project

    project = save_project(replace(teaching_5bus(), prosumers=()), tmp_path / "empty.json")
    out = tmp_path / "empty.pdf"
    assert report_command([str(project), "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("{tmp}", "is a folder"),
        ("/proc/nope/x.pdf", "does not exist"),
        ("{tmp}/report.txt", "written as .html or .pdf"),
    ],
)
def test_bad_places_give_one_line(qapp, tmp_path, capsys, output, says):
    project = str(PROJECTS[0])
    code = report_command([project, "-o", output.format(tmp=tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unwritable_folder_and_a_bad_choice(qapp, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = report_command([str(PROJECTS[0]), "-o", str(locked / "r.pdf")])
        err = capsys.readouterr().err
        import os

        if os.geteuid() != 0:  # root writes anywhere
            assert code == 1 and "cannot write" in err and err.count("\n") == 1
    finally:
        locked.chmod(0o700)
    assert report_command([str(PROJECTS[0]), "-o", str(tmp_path / "r.pdf"), "--network", "LinDist"]) == 2
    assert "choose one of none, socp, lindistflow" in capsys.readouterr().err
    # spellings as the dashboard writes them are accepted
    assert report_command([str(PROJECTS[0]), "-o", str(tmp_path / "r.pdf"), "--mechanism", "Pay-As-Bid"]) == 0
