"""The OpenAPI document is generated from the code (spectree), describes every API route, and the API
survives schemathesis: generated requests on a loopback server never get a server error and every
response matches the document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers.chat_tenants import LoopbackServer, Tenant, make_app, make_tenant

pytestmark = pytest.mark.postgres

# Generated requests per operation and mode: bounded so the suite stays fast.
EXAMPLES = 12


@pytest.fixture
def served(committed_pg: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[LoopbackServer, Tenant]]:
    app, _ = make_app(committed_pg, tmp_path)
    with committed_pg() as session:
        tenant = make_tenant(session)
    with LoopbackServer(app) as server:
        yield server, tenant


def test_document_is_openapi_3_with_bearer_security(
    committed_pg: sessionmaker[Session], tmp_path: Path
) -> None:
    app, _ = make_app(committed_pg, tmp_path)
    doc = app.test_client().get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]


def test_every_api_route_is_documented_with_its_schemas(
    committed_pg: sessionmaker[Session], tmp_path: Path
) -> None:
    app, _ = make_app(committed_pg, tmp_path)
    doc = app.test_client().get("/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = {
        (re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not getattr(rule, "websocket", False)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed
    send = doc["paths"]["/api/messages"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"]["$ref"].startswith(
        "#/components/schemas/SendMessage"
    )
    assert {"202", "401", "404", "422", "429"} <= set(send["responses"])


def test_twilio_webhooks_are_not_part_of_the_chat_api_document(
    committed_pg: sessionmaker[Session], tmp_path: Path
) -> None:
    app, _ = make_app(committed_pg, tmp_path)
    doc = app.test_client().get("/openapi.json").get_json()
    assert all(path.startswith("/api/") for path in doc["paths"])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_has_no_server_error_and_matches_its_document(
    served: tuple[LoopbackServer, Tenant], mode: str
) -> None:
    """Every documented operation, a bounded number of generated requests each (valid ones, then invalid)."""
    server, tenant = served
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    generation_mode = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=generation_mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=tenant.chef())

        check()
