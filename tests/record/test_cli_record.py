"""``antiphon serve --replay`` refuses what it cannot serve before it binds a socket."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from antiphon.cli import app


def test_a_missing_cassette_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = CliRunner().invoke(app, ["serve", "--replay", str(missing)])
    assert result.exit_code == 2
    assert "antiphon serve:" in result.output
    assert "nope.jsonl" in result.output


def test_a_file_that_is_no_cassette_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--replay", str(other)])
    assert result.exit_code == 2
    assert "is not an antiphon cassette" in result.output


def test_an_unknown_timing_is_refused(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    cassette.write_text('{"cassette": "antiphon", "version": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(
        app, ["serve", "--replay", str(cassette), "--replay-timing", "slow"]
    )
    assert result.exit_code == 2
    assert "--replay-timing is original or fast" in result.output
