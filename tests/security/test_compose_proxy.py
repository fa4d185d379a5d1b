"""Issue 18, item 3: the production compose file publishes only its proxy, so
no client can reach the app with an X-Forwarded-For of its own making."""

from __future__ import annotations

import re

from tests.unit.test_compose import APP_SERVICES, ROOT, _environment, _load_compose


def test_only_the_proxy_is_published_and_its_hop_is_the_one_trusted() -> None:
    """A published api port would let anyone send their own X-Forwarded-For
    past the proxy and spend every per-address limit (login, tokens, chat)."""
    services = _load_compose()["services"]
    published = sorted(name for name, s in services.items() if s.get("ports"))
    assert published == ["proxy"], f"published besides the proxy: {published}"
    assert services["proxy"]["image"].startswith("caddy:2.")
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"^\s*reverse_proxy\s+api:8000\s*$", caddyfile, re.M)
    # Caddy replaces a client's X-Forwarded-For unless told to trust it
    assert "trusted_proxies" not in caddyfile
    for name in APP_SERVICES:
        assert _environment(services[name])["BECKON_TRUSTED_PROXIES"] == "1", name


def test_rasa_http_api_needs_its_token_and_is_not_published() -> None:
    """Issue 18, item 11: without --auth-token, anything on the network could
    rewrite trackers or post messages as a provider."""
    services = _load_compose()["services"]
    command = services["rasa"]["command"]
    assert "--enable-api" in command
    token = command[command.index("--auth-token") + 1]
    assert token.startswith("${BECKON_RASA_TOKEN:?"), token
    assert not services["rasa"].get("ports")
    for name in APP_SERVICES:  # the app calls it, and reads trackers, with it
        assert _environment(services[name])["BECKON_RASA_TOKEN"] == token, name
