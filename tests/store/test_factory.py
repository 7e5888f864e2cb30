"""``--store`` values: where each one leads and which are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.store import MemoryStore, SqliteStore, default_store_path, open_store
from antiphon.store.factory import sqlite_path

from .conftest import LIMITS, new_response


async def test_memory_opens_the_in_process_store() -> None:
    store = await open_store(" memory ", LIMITS)
    assert isinstance(store, MemoryStore)
    await store.close()


@pytest.mark.parametrize("form", ["{path}", "sqlite://{path}", "sqlite:{path}"])
async def test_paths_and_sqlite_urls_open_a_file(tmp_path: Path, form: str) -> None:
    path = tmp_path / "my store.sqlite3"
    store = await open_store(form.format(path=path), LIMITS)
    try:
        assert isinstance(store, SqliteStore)
        await store.create(new_response("resp_1"))
    finally:
        await store.close()
    assert path.is_file()


def test_a_relative_sqlite_url_stays_relative() -> None:
    assert sqlite_path("sqlite:data/responses.db") == Path("data/responses.db")
    assert sqlite_path("sqlite:///srv/a%20b.db") == Path("/srv/a b.db")


async def test_no_url_means_a_file_in_the_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "antiphon" / "responses.sqlite3"
    store = await open_store(None, LIMITS)
    await store.close()
    assert default_store_path().is_file()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/antiphon", "unknown scheme 'mysql'"),
        ("sqlite://host/file.db", "sqlite:///ABSOLUTE/PATH"),
        ("sqlite:", "sqlite:///ABSOLUTE/PATH"),
        ("  ", "--store is empty"),
        (":memory:", "write `memory`"),
    ],
)
async def test_unsupported_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await open_store(url, LIMITS)
