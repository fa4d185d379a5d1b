import pytest

from backend.config import Config, ConfigError


def test_embedded_defaults_live_in_the_data_dir(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "BECKON_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BECKON_DATA_DIR", str(tmp_path))
    config = Config.from_env()
    assert f"sqlite:///{tmp_path}/beckon.sqlite3" == config.DATABASE_URL
    assert config.CELERY_BROKER_URL.startswith("sqla+sqlite:///")
    assert len(config.SECRET_KEY) == 64


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.setenv("BECKON_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY, DATABASE_URL"):
        Config.from_env()


def test_bad_numbers_and_unknown_overrides_are_errors(monkeypatch):
    monkeypatch.setenv("BECKON_SLOT_STEP_MINUTES", "half an hour")
    with pytest.raises(ConfigError, match="BECKON_SLOT_STEP_MINUTES"):
        Config.from_env()
    monkeypatch.delenv("BECKON_SLOT_STEP_MINUTES")
    with pytest.raises(ConfigError, match="unknown setting"):
        Config.from_env(NOPE=1)


def test_idempotency_keys_are_kept_an_hour_at_least(monkeypatch):
    monkeypatch.delenv("BECKON_IDEMPOTENCY_KEY_HOURS", raising=False)
    assert Config.from_env().IDEMPOTENCY_KEY_HOURS == 24
    monkeypatch.setenv("BECKON_IDEMPOTENCY_KEY_HOURS", "2")
    assert Config.from_env().IDEMPOTENCY_KEY_HOURS == 2
    for bad in ("0", "-5"):
        monkeypatch.setenv("BECKON_IDEMPOTENCY_KEY_HOURS", bad)
        with pytest.raises(ConfigError, match="BECKON_IDEMPOTENCY_KEY_HOURS must be"):
            Config.from_env()
    monkeypatch.setenv("BECKON_IDEMPOTENCY_KEY_HOURS", "a day")
    with pytest.raises(ConfigError, match="must be an integer"):
        Config.from_env()


def test_the_default_region_reads_national_phone_numbers(monkeypatch):
    monkeypatch.delenv("BECKON_DEFAULT_REGION", raising=False)
    assert Config.from_env().DEFAULT_REGION == "US"
    monkeypatch.setenv("BECKON_DEFAULT_REGION", "gb")
    assert Config.from_env().DEFAULT_REGION == "GB"
    for unknown in ("XX", "Britain", "001"):
        monkeypatch.setenv("BECKON_DEFAULT_REGION", unknown)
        with pytest.raises(ConfigError, match="BECKON_DEFAULT_REGION must be an ISO"):
            Config.from_env()
    monkeypatch.delenv("BECKON_DEFAULT_REGION")
    with pytest.raises(ConfigError, match="got 'ZZ'"):
        Config.from_env(DEFAULT_REGION="ZZ")


def test_each_api_keys_rate_limit_is_a_rate(monkeypatch):
    monkeypatch.delenv("BECKON_API_KEY_RATE_LIMIT", raising=False)
    assert Config.from_env().API_KEY_RATE_LIMIT == "600 per minute"
    monkeypatch.setenv("BECKON_API_KEY_RATE_LIMIT", "50/second")
    assert Config.from_env().API_KEY_RATE_LIMIT == "50/second"
    monkeypatch.setenv("BECKON_API_KEY_RATE_LIMIT", "")
    assert Config.from_env().API_KEY_RATE_LIMIT == "600 per minute"
    for bad in ("lots", "0 per minute", "10 per minute; 5 per second"):
        monkeypatch.setenv("BECKON_API_KEY_RATE_LIMIT", bad)
        with pytest.raises(ConfigError, match="BECKON_API_KEY_RATE_LIMIT must be"):
            Config.from_env()


def test_run_gunicorn_and_assistant_settings_are_read_with_their_defaults(
    monkeypatch,
):
    names = (
        "BECKON_HOST",
        "BECKON_PORT",
        "BECKON_ASSISTANT",
        "BECKON_RASA_PORT",
        "BECKON_ACTIONS_PORT",
        "BECKON_INTERNAL_API_PORT",
        "BECKON_ACTIONS_HOST",
        "BECKON_RASA_ENDPOINTS",
        "BECKON_THREADS",
        "BECKON_WORKER_TIMEOUT",
        "RASA_URL",
    )
    for name in names:
        monkeypatch.delenv(name, raising=False)
    config = Config.from_env()
    assert (config.HOST, config.PORT, config.ASSISTANT) == ("127.0.0.1", 8000, True)
    assert (config.RASA_PORT, config.ACTIONS_PORT, config.INTERNAL_API_PORT) == (
        5005,
        5055,
        5056,
    )
    assert (config.ACTIONS_HOST, config.RASA_ENDPOINTS) == ("127.0.0.1", "")
    assert (config.THREADS, config.WORKER_TIMEOUT) == (16, 120)
    assert config.RASA_URL == "http://127.0.0.1:5005"

    monkeypatch.setenv("BECKON_PORT", "9000")
    monkeypatch.setenv("BECKON_ASSISTANT", "0")
    monkeypatch.setenv("BECKON_RASA_PORT", "6005")
    monkeypatch.setenv("BECKON_THREADS", "4")
    config = Config.from_env()
    assert (config.PORT, config.ASSISTANT, config.THREADS) == (9000, False, 4)
    # the channels reach the assistant where `beckon run` starts it
    assert config.RASA_URL == "http://127.0.0.1:6005"
    monkeypatch.setenv("BECKON_WORKER_TIMEOUT", "two minutes")
    with pytest.raises(ConfigError, match="BECKON_WORKER_TIMEOUT"):
        Config.from_env()


def test_phone_code_texts_go_to_the_operator_s_region_unless_told(monkeypatch):
    for name in (
        "BECKON_SMS_COUNTRIES",
        "BECKON_SMS_HOURLY_BUDGET",
        "BECKON_SMS_COUNTRY_HOURLY_BUDGET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BECKON_DEFAULT_REGION", "GB")
    config = Config.from_env()
    assert config.SMS_COUNTRIES == ("GB",)
    assert (config.texts.hourly_budget, config.texts.country_hourly_budget) == (
        200,
        100,
    )
    monkeypatch.setenv("BECKON_SMS_COUNTRIES", "gb, ie  GB")
    assert Config.from_env().texts.countries == ("GB", "IE")
    monkeypatch.setenv("BECKON_SMS_COUNTRIES", "GB Narnia")
    with pytest.raises(ConfigError, match="BECKON_SMS_COUNTRIES .* not NARNIA"):
        Config.from_env()
    monkeypatch.delenv("BECKON_SMS_COUNTRIES")
    for bad in ("0", "-5"):
        monkeypatch.setenv("BECKON_SMS_HOURLY_BUDGET", bad)
        with pytest.raises(ConfigError, match="BECKON_SMS_HOURLY_BUDGET must be"):
            Config.from_env()
    monkeypatch.setenv("BECKON_SMS_HOURLY_BUDGET", "lots")
    with pytest.raises(ConfigError, match="BECKON_SMS_HOURLY_BUDGET must be an int"):
        Config.from_env()
