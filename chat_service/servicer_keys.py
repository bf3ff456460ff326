"""The API-key calls of the chat service's gRPC API (chat_service/api_keys.py holds the logic):
a mixin of ChatServicer, so the servicer file keeps to the chat calls."""

from __future__ import annotations

import grpc
from chatstack.chat.v1 import chat_pb2 as pb

from chat_service.api_keys import ApiKeys, api_key_of
from chat_service.convert import timestamp
from chat_service.identity import Identity
from chat_service.store.api_keys import ApiKeyRecord
from server_kit.errors import InvalidArgument, PermissionDenied


def api_key_to_pb(key: ApiKeyRecord) -> pb.ApiKey:
    return pb.ApiKey(
        key_id=key.key_id, name=key.name, hint=key.hint, create_time=timestamp(key.created_at)
    )


class ApiKeyRpcs:
    identity: Identity
    keys: ApiKeys

    async def _key_owner(self, context: grpc.aio.ServicerContext) -> str:
        """The signed-in user: keys are managed with a sign-in token, never with a key (a
        leaked key cannot create more keys, list them or revoke the owner's others)."""
        metadata = context.invocation_metadata()
        if api_key_of(metadata) is not None:
            raise PermissionDenied(
                "API keys are managed with a sign-in token, not with an API key",
                reason="API_KEY_NOT_ALLOWED",
            )
        return await self.identity.user_of(metadata)

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        user = await self._key_owner(context)
        key, secret = await self.keys.create(user, request.name)
        return pb.CreateApiKeyResponse(api_key=api_key_to_pb(key), secret=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        user = await self._key_owner(context)
        return pb.ListApiKeysResponse(
            api_keys=[api_key_to_pb(k) for k in await self.keys.list(user)]
        )

    async def DeleteApiKey(
        self, request: pb.DeleteApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteApiKeyResponse:
        user = await self._key_owner(context)
        if not request.key_id:
            raise InvalidArgument("key_id", "required")
        await self.keys.revoke(user, request.key_id)
        return pb.DeleteApiKeyResponse()
