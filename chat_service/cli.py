"""Chat from the terminal against a running stack.

    python -m chat_service.cli --token $TOKEN                 # native gRPC through Envoy
    python -m chat_service.cli --address 127.0.0.1:50051 --token $TOKEN  # straight to the service
    python -m chat_service.cli --address 127.0.0.1:50051 --user alice    # a service in header
                                                                         # identity mode (tests)

Type a message and press Enter; Ctrl-C during a reply stops it (the turn is stored as
interrupted); Ctrl-D quits. `--chat ID` continues an existing chat.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from server_kit import headers


async def converse(args: argparse.Namespace) -> int:
    metadata = (
        (("authorization", f"Bearer {args.token}"),)
        if args.token
        else ((args.user_header, args.user),)
    )
    async with grpc.aio.insecure_channel(args.address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        try:
            chat_id = (
                args.chat
                or (
                    await stub.CreateChat(
                        pb.CreateChatRequest(system_prompt=args.system),
                        metadata=metadata,
                        timeout=30,
                    )
                ).chat.chat_id
            )
        except grpc.aio.AioRpcError as err:
            print(f"error: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
        print(f"chat {chat_id} (Ctrl-D to quit)")
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, _prompt)
            if line is None:
                return 0
            if not line.strip():
                continue
            call = stub.Complete(
                pb.CompleteRequest(chat_id=chat_id, content=line), metadata=metadata, timeout=600
            )
            try:
                async for event in call:
                    if event.HasField("delta"):
                        print(event.delta.text, end="", flush=True)
                    elif event.HasField("error"):
                        print(f"\n[error: {event.error.message}]")
                    else:
                        tag = " (cached)" if event.final.cached else ""
                        print(f"\n[{event.final.usage.completion_tokens} tokens{tag}]")
            except grpc.aio.AioRpcError as err:
                print(f"\n[error: {err.code().name}: {err.details()}]")
            except asyncio.CancelledError:
                call.cancel()
                print("\n[stopped]")
                raise


def _prompt() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat from the terminal")
    parser.add_argument("--address", default="127.0.0.1:8080", help="Envoy or the chat service")
    parser.add_argument("--token", default="", help="bearer token (through Envoy)")
    parser.add_argument("--user", default="", help="user id (straight to the chat service)")
    parser.add_argument("--user-header", default=headers.USER_ID)
    parser.add_argument("--chat", default="", help="continue this chat id")
    parser.add_argument("--system", default="", help="system prompt of a new chat")
    args = parser.parse_args()
    if not args.token and not args.user:
        parser.error("give --token (via Envoy) or --user (direct)")
    try:
        sys.exit(asyncio.run(converse(args)))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
