"""The embedding service as a real process with all-MiniLM-L6-v2 from its package."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from chatstack.embedding.v1 import embedding_pb2 as pb
from chatstack.embedding.v1 import embedding_pb2_grpc as pb_grpc

from local_stack.launch.metrics import metric_value
from tests.fixtures.services import RunningService
from tests.grpc_errors import field_violations


@pytest.fixture
async def stub(embedding_server: RunningService) -> AsyncIterator[pb_grpc.EmbeddingServiceStub]:
    async with grpc.aio.insecure_channel(embedding_server.address) as channel:
        yield pb_grpc.EmbeddingServiceStub(channel)


async def embed(stub: pb_grpc.EmbeddingServiceStub, *texts: str) -> np.ndarray:
    reply = await stub.Embed(pb.EmbedRequest(texts=list(texts)), timeout=30)
    assert reply.model == "all-MiniLM-L6-v2"
    assert reply.dimension == 384
    return np.array([list(e.values) for e in reply.embeddings], dtype=np.float32)


async def test_vectors_are_normalized_stable_and_meaningful(
    stub: pb_grpc.EmbeddingServiceStub,
) -> None:
    vectors = await embed(
        stub,
        "How do I reset my password?",
        "What are the steps to change my password?",
        "The recipe needs two eggs and a cup of flour.",
        "How do I reset my password?",
    )
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert np.allclose(vectors[0], vectors[3], atol=1e-5)
    paraphrase, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert paraphrase > 0.6 > 0.3 > unrelated


async def test_concurrent_requests_are_batched(
    embedding_server: RunningService, stub: pb_grpc.EmbeddingServiceStub
) -> None:
    url = embedding_server.metrics_url
    batches_before = metric_value(url, "embedding_batch_texts_count")
    texts = [f"question number {i} about the weather" for i in range(24)]
    results = await asyncio.gather(*(embed(stub, t) for t in texts))
    assert all(r.shape == (1, 384) for r in results)
    # each request got its own text's vector back
    single = await embed(stub, texts[7])
    assert np.allclose(results[7], single, atol=1e-4)
    batches = metric_value(url, "embedding_batch_texts_count") - batches_before
    assert batches < len(texts) + 1


@pytest.mark.parametrize(
    ("texts", "field"),
    [([], "texts"), (["fine", ""], "texts[1]"), (["fine", "x" * 9000], "texts[1]"),
     (["a"] * 65, "texts")],
    ids=["empty-batch", "empty-text", "over-long-text", "too-many-texts"],
)  # fmt: skip
async def test_bad_input_is_invalid_argument(
    stub: pb_grpc.EmbeddingServiceStub, texts: list[str], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Embed(pb.EmbedRequest(texts=texts), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == [field]


async def test_tokens_are_counted_when_asked_and_the_model_is_listed(
    stub: pb_grpc.EmbeddingServiceStub,
) -> None:
    texts = ["a cat", "a cat sat on the mat"]
    counted = await stub.Embed(pb.EmbedRequest(texts=texts, count_tokens=True), timeout=30)
    # WordPiece with [CLS] and [SEP]: 4 and 8 tokens.
    assert counted.prompt_tokens == 12
    plain = await stub.Embed(pb.EmbedRequest(texts=texts), timeout=30)
    assert plain.prompt_tokens == 0
    assert [list(e.values) for e in plain.embeddings] == [
        list(e.values) for e in counted.embeddings
    ]
    long = await stub.Embed(pb.EmbedRequest(texts=["word " * 1500], count_tokens=True), timeout=30)
    assert long.prompt_tokens <= 512  # cut to the model's window, as the vector is
    listed = await stub.ListModels(pb.ListModelsRequest(), timeout=30)
    assert [(m.id, m.dimension) for m in listed.models] == [(counted.model, 384)]
