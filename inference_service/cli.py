"""Streams one reply from a running inference service:

python -m inference_service.cli --address 127.0.0.1:50052 "Why is the sky blue?"
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc


async def stream_reply(address: str, question: str, system: str, max_tokens: int) -> int:
    messages = [pb.ChatMessage(role=pb.ROLE_USER, content=question)]
    if system:
        messages.insert(0, pb.ChatMessage(role=pb.ROLE_SYSTEM, content=system))
    request = pb.GenerateRequest(
        messages=messages, sampling=pb.SamplingParams(max_tokens=max_tokens)
    )
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.InferenceServiceStub(channel)
        try:
            async for event in stub.Generate(request, timeout=120):
                if event.HasField("delta"):
                    print(event.delta.text, end="", flush=True)
                else:
                    usage = event.final.usage
                    print(
                        f"\n[{usage.prompt_tokens} prompt + {usage.completion_tokens} "
                        f"completion tokens, {pb.FinishReason.Name(event.final.finish_reason)}]"
                    )
        except grpc.aio.AioRpcError as err:
            print(f"\nerror: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--address", default="127.0.0.1:50052")
    parser.add_argument("--system", default="You are a helpful assistant.")
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    sys.exit(asyncio.run(stream_reply(args.address, args.question, args.system, args.max_tokens)))


if __name__ == "__main__":
    main()
