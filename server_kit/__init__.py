"""What the chat, inference and embedding services share: the gRPC server skeleton, error
mapping, settings, logs and metrics."""
