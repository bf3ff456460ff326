"""Export and import of chats (docs/export-format.md).

- format.py: this service's export document (chatstack.chats, version 1): built and read.
- chatgpt.py: ChatGPT's conversations.json read (the branch the user was on).
- reader.py: a file's bytes to chats to import: which format, validated whole.
- ids.py: the deterministic ids an import gives its chats and messages.
- exporter.py / importer.py: the service side, on the history store.
- fields.py, model.py: JSON values read with their path; the parsed chats and the limits.

The gRPC side is chat_service/servicer_transfer.py.
"""
