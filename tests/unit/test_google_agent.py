"""``beckon google agent``: an importable Dialogflow ES agent, made from the
catalogue, that matches what the webhook answers."""

from __future__ import annotations

import json
import zipfile

from click.testing import CliRunner

from backend.catalogue import DEFAULT_CATEGORIES
from backend.cli import main
from voice_skills.google.agent import ENTITY_OF, write_agent
from voice_skills.google.conversation import OPERATIONS, PARAMETERS


def _read(out) -> dict[str, object]:
    return {
        str(path.relative_to(out)): json.loads(path.read_text())
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def test_the_agent_is_valid_json_and_matches_the_webhook(tmp_path):
    written, archive = write_agent(tmp_path / "agent")
    files = _read(tmp_path / "agent")
    assert len(files) == len(written)
    assert files["package.json"] == {"version": "1.0.0"}
    assert files["agent.json"]["language"] == "en"
    assert files["agent.json"]["webhook"]["available"] is True

    intents = {
        f["name"]: f
        for name, f in files.items()
        if name.startswith("intents/") and "_usersays_" not in name
    }
    assert set(intents) == set(OPERATIONS)  # every one handled, no other
    for name, intent in intents.items():
        assert intent["webhookUsed"] is True, name
        declared = {
            p["name"]: p["dataType"] for p in intent["responses"][0]["parameters"]
        }
        assert set(declared) <= set(PARAMETERS), name
        for phrase in files.get(f"intents/{name}_usersays_en.json", []):
            for part in phrase["data"]:
                if "alias" in part:
                    # annotated parts are declared parameters of the right type
                    assert declared[part["alias"]] == part["meta"], (name, part)
    assert intents["Default Fallback Intent"]["fallbackIntent"] is True
    assert intents["Default Welcome Intent"]["events"] == [{"name": "WELCOME"}]
    for name in OPERATIONS:
        if name != "Default Fallback Intent":
            assert files[f"intents/{name}_usersays_en.json"], name

    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == sorted(files)
        assert json.loads(zipped.read("agent.json")) == files["agent.json"]


def test_every_category_is_a_service_entry_and_phrases_use_known_words(tmp_path):
    write_agent(tmp_path / "agent")
    files = _read(tmp_path / "agent")
    entries = {
        e["value"]: e["synonyms"] for e in files["entities/service_entries_en.json"]
    }
    for spec in DEFAULT_CATEGORIES:
        assert spec.slug in entries, spec.slug
        synonyms = {s.lower() for s in entries[spec.slug]}
        assert spec.name.lower() in synonyms
        assert {s.lower() for s in spec.synonyms} <= synonyms
    said = {
        entity.lstrip("@"): {
            s.lower()
            for entry in files[f"entities/{entity.lstrip('@')}_entries_en.json"]
            for s in entry["synonyms"]
        }
        for entity in ("@service", "@step", "@confirmation")
    }
    for name, value in files.items():
        if "_usersays_" not in name:
            continue
        for phrase in value:
            for part in phrase["data"]:
                entity = part.get("meta", "").lstrip("@")
                if entity in said:
                    # Dialogflow resolves an annotation only to a known synonym
                    assert part["text"].lower() in said[entity], (name, part)
    assert set(ENTITY_OF) == set(PARAMETERS)


def test_the_same_catalogue_gives_the_same_bytes(tmp_path):
    _, first_zip = write_agent(tmp_path / "one")
    _, second_zip = write_agent(tmp_path / "two")
    one = {
        p.relative_to(tmp_path / "one"): p.read_bytes()
        for p in (tmp_path / "one").rglob("*")
        if p.is_file()
    }
    two = {
        p.relative_to(tmp_path / "two"): p.read_bytes()
        for p in (tmp_path / "two").rglob("*")
        if p.is_file()
    }
    assert one == two
    assert first_zip.read_bytes() == second_zip.read_bytes()


def test_the_command_writes_the_agent_with_the_webhook_url(tmp_path, monkeypatch):
    monkeypatch.setenv("BECKON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BECKON_PUBLIC_URL", "https://beckon.example.com/")
    monkeypatch.setenv("DIALOGFLOW_AUTH_VALUE", "Bearer agent-secret")
    out = tmp_path / "agent"
    result = CliRunner().invoke(main, ["google", "agent", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"under {out}" in result.output
    webhook = json.loads((out / "agent.json").read_text())["webhook"]
    assert webhook["url"] == "https://beckon.example.com/webhooks/dialogflow/es"
    assert webhook["headers"] == {}  # the secret only when asked for

    result = CliRunner().invoke(
        main,
        ["google", "agent", "--out", str(out), "--with-auth", "--url", "https://x"],
    )
    assert result.exit_code == 0, result.output
    webhook = json.loads((out / "agent.json").read_text())["webhook"]
    assert webhook == {**webhook, "url": "https://x"}
    assert webhook["headers"] == {"Authorization": "Bearer agent-secret"}

    monkeypatch.delenv("DIALOGFLOW_AUTH_VALUE")
    result = CliRunner().invoke(
        main, ["google", "agent", "--out", str(out), "--with-auth"]
    )
    assert result.exit_code == 1
    assert "DIALOGFLOW_AUTH_VALUE" in result.output


def test_the_service_entity_can_come_from_the_database(tmp_path, monkeypatch):
    from backend.migrate import upgrade

    database = f"sqlite:///{tmp_path / 'beckon.sqlite3'}"
    monkeypatch.setenv("BECKON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", database)
    upgrade(database)
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from backend.models import Category, CategoryKind
    from backend.services.providers import ensure_default_categories

    engine = create_engine(database)
    with Session(engine) as session:
        ensure_default_categories(session)
        session.add(
            Category(
                slug="piano-tuning",
                name="Piano tuning",
                kind=CategoryKind.TRADE,
                description="",
                synonyms=["piano tuner"],
            )
        )
        session.commit()
    engine.dispose()
    out = tmp_path / "agent"
    result = CliRunner().invoke(
        main, ["google", "agent", "--out", str(out), "--from-database"]
    )
    assert result.exit_code == 0, result.output
    entries = json.loads((out / "entities" / "service_entries_en.json").read_text())
    values = {e["value"]: e["synonyms"] for e in entries}
    assert set(values) == {s.slug for s in DEFAULT_CATEGORIES} | {"piano-tuning"}
    assert "piano tuner" in values["piano-tuning"]


def test_services_the_catalogue_lacks_and_free_descriptions_are_taken(tmp_path):
    """The service entity expands to values it does not list, and DescribeJob
    takes the job in any words (@sys.any) between words of its own."""
    write_agent(tmp_path / "agent")
    files = _read(tmp_path / "agent")
    service = files["entities/service.json"]
    assert service["automatedExpansion"] is True
    assert service["isEnum"] is False and service["isRegexp"] is False
    describe = files["intents/DescribeJob.json"]
    declared = {
        p["name"]: p["dataType"] for p in describe["responses"][0]["parameters"]
    }
    assert declared["description"] == "@sys.any"
    for phrase in files["intents/DescribeJob_usersays_en.json"]:
        parts = phrase["data"]
        assert [p.get("alias") for p in parts].count("description") == 1
        assert any(not p["userDefined"] and p["text"].strip() for p in parts), parts
