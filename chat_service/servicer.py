"""gRPC adapter of the chat service: identity from metadata, protobuf <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.config import ChatSettings
from chat_service.convert import (
    chat_id_from,
    chat_to_pb,
    final_to_pb,
    message_to_pb,
    sampling_from_pb,
    settings_from_pb,
)
from chat_service.identity import user_id_from_metadata
from chat_service.service import ChatService, ReplyDelta, ReplyError, ReplyFinal
from server_kit.errors import InvalidArgument, google_rpc_code

MAX_REQUEST_ID_CHARS = 128


def page_size_of(value: int, default: int, maximum: int) -> int:
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidArgument("page_size", f"{value} is outside [1, {maximum}]")
    return value


class ChatServicer(pb_grpc.ChatServiceServicer):
    def __init__(self, service: ChatService, settings: ChatSettings) -> None:
        self.service = service
        self.settings = settings

    def _user(self, context: grpc.aio.ServicerContext) -> str:
        return user_id_from_metadata(context.invocation_metadata(), self.settings.user_header)

    async def CreateChat(
        self, request: pb.CreateChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateChatResponse:
        user = self._user(context)
        if len(request.title) > self.settings.max_title_chars:
            raise InvalidArgument("title", f"longer than {self.settings.max_title_chars} chars")
        if len(request.system_prompt) > self.settings.max_system_prompt_chars:
            raise InvalidArgument(
                "system_prompt", f"longer than {self.settings.max_system_prompt_chars} chars"
            )
        chat = await self.service.create_chat(
            user, request.title, request.system_prompt, settings_from_pb(request.settings)
        )
        return pb.CreateChatResponse(chat=chat_to_pb(chat))

    async def Complete(
        self, request: pb.CompleteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.CompleteResponse]:
        user = self._user(context)
        chat_id = chat_id_from(request.chat_id)
        content = request.content
        if not content.strip():
            raise InvalidArgument("content", "the message is empty")
        if len(content) > self.settings.max_message_chars:
            raise InvalidArgument(
                "content",
                f"{len(content)} characters; the limit is {self.settings.max_message_chars}",
            )
        if len(request.client_request_id) > MAX_REQUEST_ID_CHARS:
            raise InvalidArgument(
                "client_request_id", f"longer than {MAX_REQUEST_ID_CHARS} characters"
            )
        sampling = sampling_from_pb(request.sampling, "sampling")
        # aclosing: if this handler is cancelled, the turn's cleanup (interrupted) runs now.
        async with aclosing(
            self.service.complete(
                user, chat_id, content, request.client_request_id, sampling, request.bypass_cache
            )
        ) as events:
            async for event in events:
                if isinstance(event, ReplyDelta):
                    yield pb.CompleteResponse(delta=pb.CompleteDelta(text=event.text))
                elif isinstance(event, ReplyFinal):
                    yield pb.CompleteResponse(
                        final=final_to_pb(event.user_message_id, event.assistant)
                    )
                elif isinstance(event, ReplyError):
                    yield pb.CompleteResponse(
                        error=pb.CompleteError(
                            code=google_rpc_code(event.error.code),
                            message=event.error.message,
                            reason=event.error.reason,
                            assistant_message_id=event.assistant_message_id,
                        )
                    )

    async def ListChats(
        self, request: pb.ListChatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListChatsResponse:
        user = self._user(context)
        size = page_size_of(request.page_size, 20, 100)
        chats, token = await self.service.list_chats(user, size, request.page_token)
        return pb.ListChatsResponse(chats=[chat_to_pb(c) for c in chats], next_page_token=token)

    async def GetChat(
        self, request: pb.GetChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetChatResponse:
        user = self._user(context)
        chat_id = chat_id_from(request.chat_id)
        size = page_size_of(request.page_size, 50, 200)
        chat, messages, token = await self.service.get_chat(user, chat_id, size, request.page_token)
        return pb.GetChatResponse(
            chat=chat_to_pb(chat),
            messages=[message_to_pb(m) for m in messages],
            next_page_token=token,
        )

    async def DeleteChat(
        self, request: pb.DeleteChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteChatResponse:
        user = self._user(context)
        await self.service.delete_chat(user, chat_id_from(request.chat_id))
        return pb.DeleteChatResponse()
