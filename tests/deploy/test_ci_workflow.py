"""The GitHub Actions workflow: actionlint (syntax, expressions, action inputs, shell), and
what it must do: `make test` as .ci/run, the chart checks, images built with
docker/build-push-action and pushed only on tags, every action pinned to an exact release."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.deploy.tools import ROOT, WORKFLOW, run, tool

PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def workflow() -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return result


def test_actionlint() -> None:
    run([tool("actionlint"), "-no-color", WORKFLOW])


def test_every_action_is_pinned() -> None:
    for name, job in workflow()["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{name}: {step['uses']} is not pinned"


def test_triggers() -> None:
    on = workflow()["on"]
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["tags"] == ["v*"]
    assert "pull_request" in on
    assert workflow()["permissions"] == {"contents": "read"}


def test_tests_run_like_ci() -> None:
    commands = [step.get("run", "") for step in steps("test")]
    assert "bash .ci/run" in commands
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_chart_checks() -> None:
    script = "\n".join(step.get("run", "") for step in steps("chart"))
    for command in ("scripts/tools.sh helm", "helm dependency build helm/chatstack",
                    "helm lint --strict helm/chatstack", "values-gpu.yaml", "helm template",
                    "helm package"):  # fmt: skip
        assert command in script, command


def test_images_are_built_for_every_target_and_pushed_on_tags_only() -> None:
    job = workflow()["jobs"]["images"]
    assert set(job["needs"]) == {"test", "chart"}
    assert job["permissions"]["packages"] == "write"
    targets = {(m["dockerfile"], m["target"]) for m in job["strategy"]["matrix"]["include"]}
    assert targets == {
        ("docker/Dockerfile.service", "chat"),
        ("docker/Dockerfile.service", "embedding"),
        ("docker/Dockerfile.service", "inference"),
        ("docker/Dockerfile.vllm", "runtime"),
        ("docker/Dockerfile.vllm-cpu", "runtime"),
        ("docker/Dockerfile.web", "web"),
    }
    for dockerfile, target in targets:
        assert re.search(rf"^FROM .* AS {target}$", (ROOT / dockerfile).read_text(), re.M)
    (build,) = (
        s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert build["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    (login,) = (s for s in job["steps"] if s.get("uses", "").startswith("docker/login-action@"))
    assert login["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"


def test_chart_images_match_the_built_ones() -> None:
    """The repositories the chart pulls are the ones CI pushes (OWNER = the repo owner)."""
    values = yaml.safe_load((ROOT / "helm" / "chatstack" / "values.yaml").read_text())
    built = {m["image"] for m in workflow()["jobs"]["images"]["strategy"]["matrix"]["include"]}
    for component in ("chat", "embedding", "inferenceCpu", "inferenceGpu", "web"):
        repository = values[component]["image"]["repository"]
        assert repository.startswith("ghcr.io/OWNER/"), repository
        assert repository.removeprefix("ghcr.io/OWNER/") in built, repository
