"""The descriptor set handed to Envoy's gRPC-JSON transcoder.

The services put `google.rpc.Status` details (ErrorInfo, BadRequest, RetryInfo) into
`grpc-status-details-bin`. With `convert_grpc_status` the transcoder prints that Status as the
JSON error body, and it must resolve every `Any` inside it: if one type is missing from its
descriptor pool the conversion fails and the client gets the HTTP status with an EMPTY body.
`make protos` writes only the API protos and their imports, so the google.rpc protos are
appended here, from the googleapis-common-protos package the services use to build them.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2, status_pb2

# What error bodies may contain: the Status itself and every detail type the services send.
ERROR_PROTOS: tuple[FileDescriptor, ...] = (
    status_pb2.DESCRIPTOR,
    error_details_pb2.DESCRIPTOR,
)


def _with_dependencies(files: tuple[FileDescriptor, ...]) -> list[FileDescriptor]:
    """Dependencies before dependents, each once (protoc's --include_imports order)."""
    ordered: list[FileDescriptor] = []
    seen: set[str] = set()

    def visit(file: FileDescriptor) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            visit(dependency)
        ordered.append(file)

    for file in files:
        visit(file)
    return ordered


def transcoder_descriptor_set(path: Path) -> bytes:
    """The set at `path` plus the google.rpc error protos it lacks, serialized."""
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    try:
        descriptor_set.ParseFromString(path.read_bytes())
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{path}: descriptor set missing, run `make protos`") from exc
    present = {file.name for file in descriptor_set.file}
    for file in _with_dependencies(ERROR_PROTOS):
        if file.name not in present:
            file.CopyToProto(descriptor_set.file.add())
            present.add(file.name)
    return descriptor_set.SerializeToString()
