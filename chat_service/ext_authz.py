"""Envoy's external authorization check for API keys (gateway/envoy_api_keys.py): Envoy sends
only requests whose bearer value is an API key; the answer is OK with the key owner's user id
set as the user header (the per-user rate limit that follows keys on it), or 401."""

from __future__ import annotations

import logging

import envoy_ext_authz_pb2 as pb
import envoy_ext_authz_pb2_grpc as pb_grpc
import grpc
from google.rpc import status_pb2

from chat_service.api_keys import ApiKeys, is_api_key
from chat_service.identity import bearer_of
from server_kit.errors import ServiceError, Unauthenticated

log = logging.getLogger(__name__)

SERVICE_NAME = "envoy.service.auth.v3.Authorization"
_OVERWRITE = pb.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD


class ApiKeyCheck(pb_grpc.AuthorizationServicer):
    def __init__(self, keys: ApiKeys, user_header: str) -> None:
        self.keys = keys
        self.user_header = user_header

    async def Check(
        self, request: pb.CheckRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckResponse:
        headers = request.attributes.request.http.headers
        try:
            token = bearer_of([("authorization", headers.get("authorization", ""))])
            if not is_api_key(token):
                raise Unauthenticated("not an API key", reason="BAD_API_KEY")
            user = await self.keys.user_of(token)
        except Unauthenticated as exc:
            return denied(401, exc.message)
        except ServiceError as exc:  # the store is down: refused, never let through
            log.warning("API key check failed", extra={"error": exc.message})
            return denied(503, "the API key could not be checked; retry shortly")
        header = pb.HeaderValue(key=self.user_header, value=user)
        return pb.CheckResponse(
            status=status_pb2.Status(code=grpc.StatusCode.OK.value[0]),
            ok_response=pb.OkHttpResponse(
                headers=[pb.HeaderValueOption(header=header, append_action=_OVERWRITE)]
            ),
        )


def denied(status: int, message: str) -> pb.CheckResponse:
    """A refusal; its body is the message (the gateway's local-reply mappers put it in the
    JSON error shape of the API that was called)."""
    code = grpc.StatusCode.UNAUTHENTICATED if status == 401 else grpc.StatusCode.UNAVAILABLE
    return pb.CheckResponse(
        status=status_pb2.Status(code=code.value[0], message=message),
        denied_response=pb.DeniedHttpResponse(status=pb.HttpStatus(code=status), body=message),
    )
