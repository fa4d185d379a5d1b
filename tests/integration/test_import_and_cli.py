"""The JSONL import and the beckon CLI, run as a user runs them."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.cli import main
from backend.models import AdminUser, ApiKey, Booking, BookingStatus, Provider, Review
from tests.helpers import provider_payload


class Cli:
    """Runs ``beckon`` as a separate user of the database would.

    The test's own session ends its transaction first: on SQLite every
    transaction holds the write lock, and a CLI run is another connection.
    """

    def __init__(self, session):
        self.session = session
        self.runner = CliRunner()

    def invoke(self, _main, args):
        self.session.rollback()
        return self.runner.invoke(_main, args)


@pytest.fixture
def cli_env(config, monkeypatch, db):
    monkeypatch.setenv("DATABASE_URL", config.DATABASE_URL)
    monkeypatch.setenv("BECKON_DATA_DIR", str(config.DATA_DIR))
    monkeypatch.setenv("BECKON_MODEL_CACHE_DIR", str(config.MODEL_CACHE_DIR))
    return Cli(db)


def _write(tmp_path, records, name="providers.jsonl"):
    path = tmp_path / name
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records)
    )
    return path


def test_import_creates_then_updates_by_external_id(cli_env, tmp_path, db):
    first = _write(
        tmp_path,
        [
            provider_payload(external_id="a"),
            provider_payload(external_id="b", name="Other Co"),
        ],
    )
    result = cli_env.invoke(main, ["providers", "import", str(first)])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0" in result.output
    again = _write(
        tmp_path,
        [provider_payload(external_id="a", name="Renamed", rating=4.1)],
        "again.jsonl",
    )
    result = cli_env.invoke(main, ["providers", "import", str(again)])
    assert "created 0, updated 1" in result.output
    db.expire_all()
    renamed = db.scalar(select(Provider).where(Provider.external_id == "a"))
    assert renamed.name == "Renamed" and renamed.rating == 4.1
    assert db.scalar(select(func.count(Provider.id))) == 2


def test_a_bad_line_imports_nothing_and_names_the_line(cli_env, tmp_path, db):
    path = _write(
        tmp_path,
        [
            provider_payload(external_id="ok"),
            "{not json",
            provider_payload(external_id="bad-tz", timezone="Nowhere/City"),
            {
                k: v
                for k, v in provider_payload(external_id="no-name").items()
                if k != "name"
            },
            provider_payload(external_id="ok"),
        ],
    )
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.output
    assert "line 3, timezone:" in result.output
    assert "line 4, name:" in result.output
    assert "line 5, external_id: external_id repeats line 1" in result.output
    assert "nothing was imported" in result.output
    assert db.scalar(select(func.count(Provider.id))) == 0
    result = cli_env.invoke(main, ["providers", "import", "--skip-invalid", str(path)])
    assert result.exit_code == 0 and "created 1" in result.output


def test_a_catalogue_of_national_phone_numbers_imports_as_e164(cli_env, tmp_path, db):
    written = {
        "dash": "415-286-4371",
        "brackets": "(415) 286 4371",
        "dots": "415.286.4371",
        "plus": "+1 415 286 4371",
        "abroad": "+44 20 7946 0958",
    }
    path = _write(
        tmp_path,
        [provider_payload(external_id=key, phone=p) for key, p in written.items()],
    )
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 5, updated 0, skipped 0" in result.output
    stored = dict(db.execute(select(Provider.external_id, Provider.phone)).all())
    assert stored == {
        "dash": "+14152864371",
        "brackets": "+14152864371",
        "dots": "+14152864371",
        "plus": "+14152864371",
        "abroad": "+442079460958",
    }


def test_bad_phone_numbers_name_their_line_and_why_and_import_nothing(
    cli_env, tmp_path, db
):
    path = _write(
        tmp_path,
        [
            provider_payload(external_id="ok", phone="415-286-4371"),
            provider_payload(external_id="short", phone="555-12"),
            provider_payload(external_id="no-such", phone="+1 200 555 0100"),
            provider_payload(external_id="words", phone="1-800-FLOWERS"),
            provider_payload(external_id="empty", phone=""),
        ],
    )
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 1
    for line in (
        "line 2, phone: '555-12' is too short to be a phone number",
        "line 3, phone: '+1 200 555 0100' is not a valid number",
        "line 4, phone: '1-800-FLOWERS' has letters: write the number in digits",
        "line 5, phone: the phone number is empty",
    ):
        assert line in result.output, result.output
    assert "Value error" not in result.output
    assert "4 bad line(s); nothing was imported" in result.output
    assert db.scalar(select(func.count(Provider.id))) == 0


def test_an_office_number_with_an_extension_keeps_the_extension_beside_it(
    cli_env, tmp_path, db
):
    path = _write(
        tmp_path, [provider_payload(external_id="office", phone="650-474-2130 ext. 4")]
    )
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 0, result.output
    provider = db.scalar(select(Provider))
    assert provider.phone == "+16504742130"
    assert provider.attributes["phone_extension"] == "4"


def test_national_numbers_are_read_in_the_configured_region(
    cli_env, tmp_path, db, monkeypatch
):
    monkeypatch.setenv("BECKON_DEFAULT_REGION", "GB")
    path = _write(
        tmp_path,
        [
            provider_payload(external_id="london", phone="020 7946 0958"),
            provider_payload(external_id="sf", phone="+1 415 286 4371"),
        ],
    )
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 0, result.output
    stored = dict(db.execute(select(Provider.external_id, Provider.phone)).all())
    assert stored == {"london": "+442079460958", "sf": "+14152864371"}
    # a US number without its country code is not a UK one
    american = _write(
        tmp_path, [provider_payload(external_id="x", phone="415-286-4371")], "us.jsonl"
    )
    result = cli_env.invoke(main, ["providers", "import", str(american)])
    assert result.exit_code == 1
    assert "line 1, phone: '415-286-4371' is not a valid GB number" in result.output


def test_an_unknown_region_stops_the_command_with_a_clear_message(
    cli_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("BECKON_DEFAULT_REGION", "Narnia")
    path = _write(tmp_path, [provider_payload(external_id="a")])
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 1
    assert "BECKON_DEFAULT_REGION must be an ISO 3166 alpha-2 code" in result.output
    assert "got 'Narnia'" in result.output


def test_providers_of_small_towns_import_by_city(cli_env, tmp_path, db):
    towns = ["Mill Valley", "Corte Madera", "Sausalito", "St. Helena, CA", "94028"]
    lines = []
    for n, town in enumerate(towns):
        line = provider_payload(external_id=f"t{n}", city=town)
        del line["timezone"]  # the town's
        lines.append(line)
    result = cli_env.invoke(main, ["providers", "import", str(_write(tmp_path, lines))])
    assert result.exit_code == 0, result.output
    assert "created 5" in result.output
    found = {
        p.external_id: p for p in db.scalars(select(Provider).order_by(Provider.id))
    }
    assert [found[f"t{n}"].city for n in range(5)] == towns  # as given
    assert {p.timezone for p in found.values()} == {"America/Los_Angeles"}
    helena, portola = found["t3"], found["t4"]  # 94028 is Portola Valley's
    assert abs(helena.lat - 38.505) < 0.05 and abs(helena.lon + 122.470) < 0.05
    assert abs(portola.lat - 37.38) < 0.05 and abs(portola.lon + 122.23) < 0.05


def test_import_of_an_unknown_city_names_it(cli_env, tmp_path, db):
    path = _write(tmp_path, [provider_payload(external_id="x", city="Xyzzyville")])
    result = cli_env.invoke(main, ["providers", "import", str(path)])
    assert result.exit_code == 1
    assert "Xyzzyville" in result.output
    assert db.scalar(select(func.count(Provider.id))) == 0


def test_api_key_create_prints_a_working_key(cli_env, client, db):
    result = cli_env.invoke(main, ["api-key", "create", "partner", "--scope", "read"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("bk_")
    response = client.get(
        "/api/v1/categories", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert db.scalar(select(ApiKey.name)) == "partner"
    listed = cli_env.invoke(main, ["api-key", "list"])
    assert "partner" in listed.output and token not in listed.output
    assert "\tread\t" in listed.output


def test_api_key_create_needs_known_scopes(cli_env, db):
    none = cli_env.invoke(main, ["api-key", "create", "partner"])
    assert none.exit_code == 2 and "--scope" in none.output
    bad = cli_env.invoke(main, ["api-key", "create", "partner", "--scope", "all"])
    assert bad.exit_code == 1 and "unknown scope all" in bad.output
    assert db.scalar(select(func.count(ApiKey.id))) == 0
    both = cli_env.invoke(
        main, ["api-key", "create", "ops", "--scope", "book,read", "--scope", "admin"]
    )
    assert both.exit_code == 0, both.output
    db.rollback()
    assert db.scalar(select(ApiKey.scopes)) == ["read", "book", "admin"]


def test_admin_create_validates_and_hashes(cli_env, db):
    short = cli_env.invoke(
        main, ["admin", "create", "--email", "ops@beckon.test", "--password", "short"]
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    ok = cli_env.invoke(
        main,
        [
            "admin",
            "create",
            "--email",
            "Ops@Beckon.test",
            "--password",
            "correct horse battery",
        ],
    )
    assert ok.exit_code == 0, ok.output
    user = db.scalar(select(AdminUser))
    assert user.email == "ops@beckon.test"
    assert user.password_hash.startswith("scrypt:")
    dup = cli_env.invoke(
        main,
        [
            "admin",
            "create",
            "--email",
            "ops@beckon.test",
            "--password",
            "correct horse battery",
        ],
    )
    assert dup.exit_code == 1 and "exists" in dup.output


@pytest.mark.slow
def test_seed_demo_builds_a_marketplace_through_the_services(cli_env, db):
    result = cli_env.invoke(main, ["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(func.count(Provider.id))) >= 300
    cities = db.scalars(select(Provider.city).distinct()).all()
    assert len(cities) >= 5
    statuses = set(db.scalars(select(Booking.status).distinct()))
    assert {BookingStatus.CONFIRMED, BookingStatus.REVIEWED} <= statuses
    assert db.scalar(select(func.count(Review.id))) > 10
    again = cli_env.invoke(main, ["seed", "demo", "--if-empty"])
    assert "nothing done" in again.output
