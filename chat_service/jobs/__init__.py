"""Work off the request path on NATS JetStream: summaries, cache writes, cache invalidation."""
