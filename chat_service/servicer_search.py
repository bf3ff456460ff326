"""SearchChats of the chat service's gRPC API (chat_service/search.py holds the logic): a mixin
of ChatServicer."""

from __future__ import annotations

import grpc
from chatstack.chat.v1 import chat_pb2 as pb

from chat_service.convert import chat_to_pb, timestamp
from chat_service.identity import Identity
from chat_service.page_tokens import page_size_of
from chat_service.search import ChatSearch

DEFAULT_PAGE, MAX_PAGE = 20, 50


class SearchRpcs:
    identity: Identity
    searcher: ChatSearch

    async def SearchChats(
        self, request: pb.SearchChatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchChatsResponse:
        user = await self.identity.user_of(context.invocation_metadata())
        size = page_size_of(request.page_size, DEFAULT_PAGE, MAX_PAGE)
        hits, token = await self.searcher.search(user, request.query, size, request.page_token)
        return pb.SearchChatsResponse(
            hits=[
                pb.SearchHit(
                    chat=chat_to_pb(h.chat),
                    message_id=h.message_id,
                    snippet=h.snippet,
                    create_time=timestamp(h.at),
                )
                for h in hits
            ],
            next_page_token=token,
        )
