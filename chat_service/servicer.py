"""gRPC adapter of the chat service: identity from metadata, protobuf <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.api_keys import ApiKeys
from chat_service.config import ConversationSettings
from chat_service.convert import (
    chat_id_from,
    chat_to_pb,
    chat_update_from_pb,
    final_to_pb,
    message_id_from,
    message_to_pb,
    sampling_from_pb,
    settings_from_pb,
    update_mask_of,
)
from chat_service.domain import ChatRecord, ChatUpdate, Sampling, Turn
from chat_service.identity import Identity
from chat_service.page_tokens import page_size_of
from chat_service.search import ChatSearch
from chat_service.service import ChatService, ReplyDelta, ReplyEvent, ReplyFinal
from chat_service.servicer_keys import ApiKeyRpcs
from chat_service.servicer_search import SearchRpcs
from chat_service.servicer_transfer import TransferRpcs
from chat_service.turn.branch import BranchRequest
from server_kit.errors import InvalidArgument, google_rpc_code

MAX_REQUEST_ID_CHARS = 128


TurnRequest = pb.CompleteRequest | pb.SubmitCompletionRequest


def request_id_of(value: str, required: bool = False) -> str:
    if required and not value:
        raise InvalidArgument("client_request_id", "required: the id of the turn")
    if len(value) > MAX_REQUEST_ID_CHARS:
        raise InvalidArgument("client_request_id", f"longer than {MAX_REQUEST_ID_CHARS} characters")
    return value


def branch_of(request: TurnRequest) -> BranchRequest:
    """Where a turn goes (docs/branches.md): at most one of an edit's parent, a regenerated
    question and an edit of the first question."""
    branch = BranchRequest(
        parent_message_id=message_id_from(request.parent_message_id, "parent_message_id"),
        regenerate_message_id=message_id_from(
            request.regenerate_message_id, "regenerate_message_id"
        ),
        edit_first_message=request.edit_first_message,
    )
    named = [
        name
        for name, value in (
            ("parent_message_id", branch.parent_message_id),
            ("regenerate_message_id", branch.regenerate_message_id),
            ("edit_first_message", branch.edit_first_message),
        )
        if value
    ]
    if len(named) > 1:
        raise InvalidArgument(named[1], f"cannot be combined with {named[0]}")
    return branch


def event_fields(event: ReplyEvent) -> dict[str, Any]:
    """A turn event as the `event` oneof of CompleteResponse / StreamTurnResponse."""
    if isinstance(event, ReplyDelta):
        delta = pb.CompleteDelta(text=event.text, offset=event.offset or 0, attempt=event.attempt)
        return {"delta": delta}
    if isinstance(event, ReplyFinal):
        return {"final": final_to_pb(event.user_message_id, event.assistant)}
    return {
        "error": pb.CompleteError(
            code=google_rpc_code(event.error.code),
            message=event.error.message,
            reason=event.error.reason,
            assistant_message_id=event.assistant_message_id,
        )
    }


TurnNamed = pb.GetTurnRequest | pb.StreamTurnRequest | pb.CancelTurnRequest


def turn_fields(turn: Turn) -> dict[str, pb.Message]:
    """A turn as the user_message and assistant_message fields of a response."""
    return {
        "user_message": message_to_pb(turn.user),
        "assistant_message": message_to_pb(turn.assistant),
    }


class ChatServicer(ApiKeyRpcs, SearchRpcs, TransferRpcs, pb_grpc.ChatServiceServicer):
    def __init__(
        self,
        service: ChatService,
        settings: ConversationSettings,
        identity: Identity,
        keys: ApiKeys,
    ) -> None:
        self.service = service
        self.settings = settings
        self.identity = identity
        self.keys = keys
        self.searcher = ChatSearch(service.store)

    async def _user(self, context: grpc.aio.ServicerContext) -> str:
        return await self.identity.user_of(context.invocation_metadata())

    async def CreateChat(
        self, request: pb.CreateChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateChatResponse:
        user = await self._user(context)
        self._check_texts(request.title, request.system_prompt)
        chat = await self.service.create_chat(
            user,
            request.title,
            request.system_prompt,
            settings_from_pb(request.settings),
            request_id_of(request.client_request_id),
        )
        return pb.CreateChatResponse(chat=chat_to_pb(chat))

    async def UpdateChat(
        self, request: pb.UpdateChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateChatResponse:
        user = await self._user(context)
        chat_id = chat_id_from(request.chat_id)
        mask = update_mask_of(request)  # a bad mask is refused before anything is read

        def change(stored: ChatRecord) -> ChatUpdate:
            update = chat_update_from_pb(request, mask, stored)
            self._check_texts(update.title or "", "", prefix="chat.")
            return update

        chat = await self.service.update_chat(user, chat_id, change)
        return pb.UpdateChatResponse(chat=chat_to_pb(chat))

    def _check_texts(self, title: str, system_prompt: str, prefix: str = "") -> None:
        if len(title) > self.settings.max_title_chars:
            raise InvalidArgument(
                f"{prefix}title", f"longer than {self.settings.max_title_chars} chars"
            )
        if len(system_prompt) > self.settings.max_system_prompt_chars:
            raise InvalidArgument(
                f"{prefix}system_prompt",
                f"longer than {self.settings.max_system_prompt_chars} chars",
            )

    def _turn_input(
        self, request: TurnRequest
    ) -> tuple[str, str, str, Sampling, bool, BranchRequest]:
        """Validates a new turn's fields, as the service's complete and submit take them after
        the user: chat id, message, request id, sampling, bypass_cache and where it goes in the
        chat's tree."""
        chat_id = chat_id_from(request.chat_id)
        content = request.content
        branch = branch_of(request)
        request_id_of(request.client_request_id)
        if branch.regenerate_message_id:
            if content:
                raise InvalidArgument("content", "must be empty to regenerate an answer")
        elif not content.strip():
            raise InvalidArgument("content", "the message is empty")
        elif len(content) > self.settings.max_message_chars:
            raise InvalidArgument(
                "content",
                f"{len(content)} characters; the limit is {self.settings.max_message_chars}",
            )
        sampling = sampling_from_pb(request.sampling, "sampling")
        return chat_id, content, request.client_request_id, sampling, request.bypass_cache, branch

    async def Complete(
        self, request: pb.CompleteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.CompleteResponse]:
        user = await self._user(context)
        turn = self._turn_input(request)
        # aclosing: if this handler is cancelled, the turn's cleanup (interrupted) runs now.
        async with aclosing(self.service.complete(user, *turn)) as events:
            async for event in events:
                yield pb.CompleteResponse(**event_fields(event))

    async def SubmitCompletion(
        self, request: pb.SubmitCompletionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitCompletionResponse:
        user = await self._user(context)
        turn = await self.service.submit(user, *self._turn_input(request))
        return pb.SubmitCompletionResponse(
            client_request_id=turn.assistant.client_request_id, **turn_fields(turn)
        )

    async def GetTurn(
        self, request: pb.GetTurnRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTurnResponse:
        turn = await self.service.get_turn(*await self._turn_of(request, context))
        return pb.GetTurnResponse(**turn_fields(turn))

    async def StreamTurn(
        self, request: pb.StreamTurnRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamTurnResponse]:
        user, chat_id, request_id = await self._turn_of(request, context)
        if request.offset < 0:
            raise InvalidArgument("offset", "must be 0 or more (code points of the reply held)")
        if len(request.attempt) > MAX_REQUEST_ID_CHARS:
            raise InvalidArgument("attempt", "not an attempt id (the last delta's `attempt`)")
        follow = self.service.follow_turn(
            user, chat_id, request_id, request.offset, request.attempt
        )
        async with aclosing(follow) as events:
            async for event in events:
                yield pb.StreamTurnResponse(**event_fields(event))

    async def CancelTurn(
        self, request: pb.CancelTurnRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelTurnResponse:
        turn = await self.service.cancel_turn(*await self._turn_of(request, context))
        return pb.CancelTurnResponse(**turn_fields(turn))

    async def _turn_of(
        self, request: TurnNamed, context: grpc.aio.ServicerContext
    ) -> tuple[str, str, str]:
        """The caller and the turn a request names: (user, chat id, client request id)."""
        user = await self._user(context)
        return user, chat_id_from(request.chat_id), request_id_of(request.client_request_id, True)

    async def ListChats(
        self, request: pb.ListChatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListChatsResponse:
        user = await self._user(context)
        size = page_size_of(request.page_size, 20, 100)
        chats, token = await self.service.list_chats(user, size, request.page_token)
        return pb.ListChatsResponse(chats=[chat_to_pb(c) for c in chats], next_page_token=token)

    async def GetChat(
        self, request: pb.GetChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetChatResponse:
        user = await self._user(context)
        chat_id = chat_id_from(request.chat_id)
        size = page_size_of(request.page_size, 50, 200)
        chat, messages, token = await self.service.get_chat(user, chat_id, size, request.page_token)
        versions = await self.service.versions(user, chat_id, messages)
        return pb.GetChatResponse(
            chat=chat_to_pb(chat),
            messages=[message_to_pb(m, versions.get(m.message_id)) for m in messages],
            next_page_token=token,
        )

    async def SelectMessage(
        self, request: pb.SelectMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.SelectMessageResponse:
        user = await self._user(context)
        chat_id = chat_id_from(request.chat_id)
        message_id = message_id_from(request.message_id, "message_id")
        if not message_id:
            raise InvalidArgument("message_id", "is required")
        chat = await self.service.select_message(user, chat_id, message_id)
        return pb.SelectMessageResponse(chat=chat_to_pb(chat))

    async def DeleteChat(
        self, request: pb.DeleteChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteChatResponse:
        user = await self._user(context)
        chat_id = chat_id_from(request.chat_id)
        await self.service.delete_chat(user, chat_id, allow_missing=request.allow_missing)
        return pb.DeleteChatResponse()
