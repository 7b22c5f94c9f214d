"""`chat2order --help` lists commands by section; user mistakes and unreachable services are one line, exit 1."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from chat2order.cli import SECTIONS, main


def _run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": "", "REDIS_URL": "", **env})
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _sections(output: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = sections.setdefault(line[:-1], [])
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line.split()[0])
    return sections


def test_help_lists_every_command_under_its_section() -> None:
    code, output = _run("--help")

    assert code == 0
    sections = _sections(output)
    assert [title for title in sections if title != "Options"] == ["Run", "Data", "Orders", "Tools"]
    assert {title: names for title, names in sections.items() if title != "Options"} == {
        title: list(names) for title, names in SECTIONS
    }
    assert sorted(n for title, names in SECTIONS for n in names) == sorted(main.commands)


@pytest.mark.parametrize("columns", ["80", "200"])
def test_help_shows_each_command_on_one_line_without_truncation(columns: str) -> None:
    # CI has no terminal: click then formats for 80 columns, narrower than a developer's window.
    _, output = _run("--help", COLUMNS=columns)

    body = output.split("Run:", 1)[1]
    assert "..." not in body


def test_unreachable_database_is_one_line_without_the_password() -> None:
    code, output = _run("supplier", "list", DATABASE_URL="postgresql://postgres:s3cret@127.0.0.1:1/nowhere")

    assert code == 1
    assert output.strip().splitlines() == [output.strip()]
    assert output.startswith("error: database unreachable at postgresql://postgres:***@127.0.0.1:1/nowhere")
    assert "s3cret" not in output


def test_unparseable_database_url_is_one_line() -> None:
    code, output = _run("supplier", "list", DATABASE_URL="no-such-scheme://x")

    assert code == 1
    assert output.startswith("error: DATABASE_URL is not a usable database URL")


def test_database_without_schema_says_to_run_db_upgrade(tmp_path) -> None:
    code, output = _run("supplier", "list", DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert code == 1
    assert "run `chat2order db upgrade`" in output


def test_unknown_supplier_is_one_line(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c2o.sqlite3'}"
    assert _run("db", "upgrade", DATABASE_URL=url)[0] == 0

    code, output = _run("supplier", "show", "no-such-supplier", DATABASE_URL=url)

    assert (code, output) == (1, "error: no supplier 'no-such-supplier'\n")


@pytest.mark.postgres
def test_worker_with_unreachable_redis_is_one_line(pg_url: str) -> None:
    code, output = _run("worker", "--no-warm", DATABASE_URL=pg_url, REDIS_URL="redis://:pw@127.0.0.1:1/0")

    assert code == 1
    assert output.startswith("error: Redis unreachable at redis://:***@127.0.0.1:1/0")
