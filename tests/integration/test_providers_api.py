"""Providers through /api/v1: create, validate, update, verify, deactivate, search."""

from tests.helpers import provider_payload


def test_create_provider_resolves_city_and_returns_location(api):
    response = api.post("/api/v1/providers", json=provider_payload())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/providers/{body['id']}")
    assert body["city"] == "Chicago"
    assert abs(body["lat"] - 41.85) < 0.1
    assert body["categories"] == ["plumbing"]
    assert body["services"][0]["price_cents"] == 15000
    assert body["verification_state"] == "verified"
    assert (
        api.get(f"/api/v1/providers/{body['id']}").get_json()["name"]
        == "Reyes Plumbing"
    )


def test_timezone_comes_from_the_city_when_not_given(api):
    payload = provider_payload(city="Denver")
    del payload["timezone"]
    body = api.post("/api/v1/providers", json=payload).get_json()
    assert body["timezone"] == "America/Denver"


def test_free_form_keys_are_kept_as_attributes(api):
    body = api.post(
        "/api/v1/providers",
        json=provider_payload(licence_number="PL-12345", attributes={"insured": True}),
    ).get_json()
    assert body["attributes"] == {"licence_number": "PL-12345", "insured": True}


def test_bad_fields_are_422_naming_the_field(api):
    cases = {
        "timezone": provider_payload(timezone="Mars/Olympus"),
        "hours": provider_payload(hours={"mon": [["17:00", "09:00"]]}),
        "rating": provider_payload(rating=7),
        "phone": provider_payload(phone="call me"),
        "categories": provider_payload(categories=[]),
    }
    for field, payload in cases.items():
        response = api.post("/api/v1/providers", json=payload)
        assert response.status_code == 422, field
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert any(d["field"].startswith(field) for d in error["details"]), error
    assert api.get("/api/v1/providers").get_json()["total"] == 0


def test_unknown_city_is_a_clear_422(api):
    response = api.post("/api/v1/providers", json=provider_payload(city="Xyzzyville"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unknown_place"
    assert "Xyzzyville" in error["message"]


def test_non_json_body_is_400(api):
    response = api.post(
        "/api/v1/providers", data="name=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    response = api.post("/api/v1/providers", json=[1, 2])
    assert response.status_code == 400


def test_duplicate_external_id_is_409(api):
    assert api.post("/api/v1/providers", json=provider_payload()).status_code == 201
    response = api.post("/api/v1/providers", json=provider_payload(name="Other"))
    assert response.status_code == 409
    assert api.get("/api/v1/providers").get_json()["total"] == 1


def test_update_changes_only_given_fields(api):
    pid = api.post("/api/v1/providers", json=provider_payload()).get_json()["id"]
    response = api.patch(
        f"/api/v1/providers/{pid}",
        json={"description": "Now also drains.", "radius_km": 12},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["description"] == "Now also drains."
    assert body["radius_km"] == 12
    assert body["name"] == "Reyes Plumbing"
    assert body["services"][0]["name"] == "Leak repair"


def test_phones_are_taken_as_operators_write_them_and_stored_as_e164(api):
    created = api.post("/api/v1/providers", json=provider_payload(phone="415-286-4371"))
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    assert created.get_json()["phone"] == "+14152864371"
    for written, stored in (
        ("(415) 286 4371", "+14152864371"),
        ("+44 20 7946 0958", "+442079460958"),
        ("001 415 286 4371", "+14152864371"),
    ):
        changed = api.patch(f"/api/v1/providers/{pid}", json={"phone": written})
        assert changed.status_code == 200, changed.get_json()
        assert changed.get_json()["phone"] == stored


def test_a_phone_that_is_not_a_number_is_422_with_the_reason_and_changes_nothing(
    api,
):
    pid = api.post("/api/v1/providers", json=provider_payload()).get_json()["id"]
    for written, reason in (
        ("555-12", "'555-12' is too short to be a phone number"),
        ("+1 200 555 0100", "'+1 200 555 0100' is not a valid number"),
        ("1-800-FLOWERS", "'1-800-FLOWERS' has letters: write the number in digits"),
    ):
        response = api.patch(f"/api/v1/providers/{pid}", json={"phone": written})
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"].startswith(f"phone: {reason}"), error
        assert error["details"][0]["field"] == "phone"
    assert api.get(f"/api/v1/providers/{pid}").get_json()["phone"] == "+13125550101"
    refused = api.post(
        "/api/v1/providers", json=provider_payload(external_id="x", phone="555-12")
    )
    assert refused.status_code == 422
    assert api.get("/api/v1/providers").get_json()["total"] == 1


def test_an_office_number_keeps_its_extension_beside_it(api):
    created = api.post(
        "/api/v1/providers", json=provider_payload(phone="650-474-2130 ext. 4")
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phone"] == "+16504742130"
    assert created.get_json()["attributes"]["phone_extension"] == "4"


def test_national_phones_are_the_configured_region_s(api, config, monkeypatch):
    monkeypatch.setattr(config, "DEFAULT_REGION", "GB")
    created = api.post(
        "/api/v1/providers", json=provider_payload(phone="020 7946 0958")
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phone"] == "+442079460958"
    american = api.post(
        "/api/v1/providers",
        json=provider_payload(external_id="x", phone="415-286-4371"),
    )
    assert american.status_code == 422
    assert "is not a valid GB number" in american.get_json()["error"]["message"]


def test_update_clears_a_contact_given_as_null(api):
    pid = api.post("/api/v1/providers", json=provider_payload()).get_json()["id"]
    response = api.patch(f"/api/v1/providers/{pid}", json={"phone": None})
    assert response.status_code == 200
    assert response.get_json()["phone"] is None
    assert response.get_json()["name"] == "Reyes Plumbing"
    response = api.patch(f"/api/v1/providers/{pid}", json={"name": None})
    assert response.get_json()["name"] == "Reyes Plumbing"  # a name stays


def test_verify_needs_the_checklist_then_records_who(api):
    pid = api.post(
        "/api/v1/providers", json=provider_payload(verified=False)
    ).get_json()["id"]
    response = api.post(
        f"/api/v1/providers/{pid}/verify", json={"licence": True, "identity": True}
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [
        "insurance"
    ]
    response = api.post(
        f"/api/v1/providers/{pid}/verify",
        json={
            "licence": True,
            "insurance": True,
            "identity": True,
            "notes": "licence IL-55",
            "verified_by": "ops@beckon.test",
        },
    )
    body = response.get_json()
    assert body["verification_state"] == "verified"
    assert body["verification"]["by"] == "ops@beckon.test"
    assert body["verified_at"]


def test_deactivate_hides_from_search(api):
    pid = api.post("/api/v1/providers", json=provider_payload()).get_json()["id"]
    assert api.post(f"/api/v1/providers/{pid}/deactivate").get_json()["active"] is False
    assert api.get("/api/v1/providers?category=plumbing").get_json()["total"] == 0
    assert api.get("/api/v1/providers?active=false").get_json()["total"] == 1


def test_search_filters_and_paginates(api):
    for i in range(5):
        api.post(
            "/api/v1/providers",
            json=provider_payload(
                external_id=f"p-{i}", name=f"Plumber {i}", rating=3.0 + i * 0.5
            ),
        )
    api.post(
        "/api/v1/providers",
        json=provider_payload(
            external_id="t-1",
            name="Luna Tarot",
            categories=["tarot-reading"],
            services=[
                {
                    "name": "Love reading",
                    "mode": "remote",
                    "duration_minutes": 30,
                    "price_cents": 4000,
                }
            ],
        ),
    )
    body = api.get("/api/v1/providers?category=plumbing&per_page=2&page=2").get_json()
    assert body["total"] == 5 and len(body["items"]) == 2
    assert (
        api.get("/api/v1/providers?min_rating=4.5").get_json()["total"] == 3
    )  # 4.5, 5.0, 4.8
    assert (
        api.get("/api/v1/providers?q=tarot").get_json()["items"][0]["name"]
        == "Luna Tarot"
    )
    response = api.get("/api/v1/providers?category=astrophysics")
    assert response.status_code == 422
    assert api.get("/api/v1/providers?per_page=1000").status_code == 422


def test_unknown_provider_is_404_in_the_error_shape(api):
    response = api.get("/api/v1/providers/999")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {
            "code": "not_found",
            "message": "provider 999 not found",
            "details": None,
        }
    }


def test_requests_need_a_valid_key(client, api, app):
    assert client.get("/api/v1/providers").status_code == 401
    bad = client.get("/api/v1/providers", headers={"Authorization": "Bearer bk_x_y"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/openapi.json").status_code == 200  # public

    from backend.extensions import db
    from backend.models import ApiKey
    from backend.services.access import revoke_api_key

    with app.app_context():
        key_id = db.session.query(ApiKey.id).scalar()
        revoke_api_key(db.session, key_id)
        db.session.commit()
    revoked = api.get("/api/v1/providers")
    assert revoked.status_code == 401
    assert "revoked" in revoked.get_json()["error"]["message"]


def test_keys_are_stored_hashed(app, api_token):
    from backend.extensions import db
    from backend.models import ApiKey

    with app.app_context():
        key = db.session.query(ApiKey).one()
        assert api_token.split("_", 2)[2] not in (key.key_hash, key.prefix)
        assert len(key.key_hash) == 64


def test_unknown_endpoint_and_method_use_the_error_shape(api):
    assert api.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    response = api.client.delete("/api/v1/providers", headers=api.headers)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_a_key_records_when_it_was_last_used(api, app):
    from backend.extensions import db
    from backend.models import ApiKey

    assert api.get("/api/v1/categories").status_code == 200
    with app.app_context():
        assert db.session.query(ApiKey.last_used_at).scalar() is not None
