"""OpenAI-compatible API: `/v1/chat/completions`, `/v1/models` and `/v1/embeddings` in OpenAI's
wire format, for tools written against the OpenAI SDKs. `protocol` is the I/O-free part:
request parsing and validation into domain types, and the response, chunk and error bodies."""
