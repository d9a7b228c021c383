"""Fuzz every JSON endpoint from its OpenAPI document with a valid token (schemathesis + hypothesis).

Every operation gets FUZZ_EXAMPLES generated cases (default 200): random and boundary values for
path, query and body. Each answer must not be a server error and must match the document (status
code, content type, schema). The number of cases run is printed per operation.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from portal.api.openapi import build_openapi
from portal.extensions import db
from tests.conftest import build_app
from tests.factories import make_token, make_user

# Business rules (a duplicate name, an unknown id) legitimately refuse schema-valid data, so the
# "positive data must be accepted" family of checks does not apply; these do.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
# The operations are listed from the URL map alone, so collection needs no database.
_SPEC = build_openapi(build_app("postgresql+psycopg2://collect-only@127.0.0.1:1/none"))
OPERATIONS = [(path, method) for path, methods in _SPEC["paths"].items() for method in methods]


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_api_operation_never_fails_and_matches_its_document(app, path, method):
    user = make_user()
    _, token = make_token(user, name="fuzz")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method.upper()]
    cases = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        cases.append(1)
        case.headers = {**(case.headers or {}), **headers}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    print(f"\n{method.upper()} {path}: {len(cases)} cases")
    assert cases
