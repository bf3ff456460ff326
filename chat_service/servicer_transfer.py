"""The export and import calls of the chat service's gRPC API (chat_service/transfer/ holds the
logic; docs/export-format.md the file format): a mixin of ChatServicer.

Over REST (Envoy's transcoder) both carry the file as the HTTP body: GET /chats:export answers
the JSON document itself, POST /chats:import takes the file's bytes as they are."""

from __future__ import annotations

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from google.api import httpbody_pb2

from chat_service.convert import chat_to_pb
from chat_service.identity import Identity
from chat_service.service import ChatService
from chat_service.transfer.exporter import Exporter
from chat_service.transfer.importer import Importer
from chat_service.transfer.model import ImportLimits

EXPORT_CONTENT_TYPE = "application/json"


class TransferRpcs:
    identity: Identity
    service: ChatService

    def _exporter(self) -> Exporter:
        service = self.service
        lifecycle = service.lifecycle
        return Exporter(service.store, service.settings.max_message_bytes, lifecycle.as_seen)

    def _importer(self) -> Importer:
        return Importer(self.service.store, ImportLimits.from_settings(self.service.settings))

    async def ExportChats(
        self, request: pb.ExportChatsRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        user = await self.identity.user_of(context.invocation_metadata())
        document = await self._exporter().run(user, list(request.chat_ids))
        return httpbody_pb2.HttpBody(content_type=EXPORT_CONTENT_TYPE, data=document)

    async def ImportChats(
        self, request: pb.ImportChatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportChatsResponse:
        user = await self.identity.user_of(context.invocation_metadata())
        result = await self._importer().run(user, request.file.data)
        return pb.ImportChatsResponse(
            chats=[chat_to_pb(chat) for chat in result.chats],
            imported=result.imported,
            skipped=result.skipped,
            format=result.format,
        )
