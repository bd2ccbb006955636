"""Who may use /v1/ops: the service's staff, by ``Authorization: Bearer <operator_token>``.

Without ``operator_token`` in the settings the staff API does not exist (404), so a
deployment that never set one exposes nothing. Tenants' API keys are never accepted.
"""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kanal.bootstrap import Container
from kanal.core.errors import NotFound, Unauthorized

operator_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="OperatorToken",
    description="The service staff's token (setting `operator_token`), not a tenant's API key",
)


class OperatorUnauthorized(Unauthorized):
    """No valid operator token."""

    code = "operator_unauthorized"


async def require_operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)],
) -> None:
    container: Container = request.app.state.container
    expected = container.settings.operator_token
    if not expected:
        raise NotFound(resource=request.url.path)
    presented = credentials.credentials if credentials else ""
    # compare_digest: the time taken does not tell how much of a guess was right
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise OperatorUnauthorized()


Operator = Depends(require_operator)
