"""The image lock file and its verdicts, and the doctor's image-trust check (no Podman needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.config.image_lock import RELOCK_COMMAND, ImageLock, ImagePin
from mcp_registry_server.doctor.catalog_checks import check_image_trust
from mcp_registry_server.settings import RegistrySettings

OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def saved_lock(config_dir: Path) -> ImageLock:
    lock = ImageLock(config_dir / "images.lock.json")
    lock.pins = {"time": ImagePin("localhost/time", OLD), "gone": ImagePin("docker.io/mcp/gone", None)}
    lock.save()
    return ImageLock.load(config_dir)


def test_the_lock_file_is_private_and_round_trips(tmp_path: Path) -> None:
    lock = saved_lock(tmp_path / "config")
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    assert lock.pins["time"] == ImagePin("localhost/time", OLD) and lock.pins["gone"].digest is None


def test_no_lock_file_means_no_check(tmp_path: Path) -> None:
    verdict = ImageLock.load(tmp_path).verdict("time", "localhost/time", NEW)
    assert verdict.refusal is None and verdict.warning is None


def test_a_changed_image_is_refused_with_both_ids_and_the_fix(tmp_path: Path) -> None:
    lock = saved_lock(tmp_path)
    assert lock.verdict("time", "localhost/time", OLD).refusal is None
    refusal = lock.verdict("time", "localhost/time", NEW).refusal or ""
    assert "time" in refusal and OLD in refusal and NEW in refusal and RELOCK_COMMAND in refusal
    moved = lock.verdict("time", "localhost/other", OLD).refusal or ""
    assert "localhost/other" in moved and RELOCK_COMMAND in moved
    assert "unknown id" in (lock.verdict("time", "localhost/time", None).refusal or "")


def test_an_unpinned_entry_is_allowed_with_a_warning(tmp_path: Path) -> None:
    lock = saved_lock(tmp_path)
    for entry_id in ("new", "gone"):
        verdict = lock.verdict(entry_id, "docker.io/mcp/x", NEW)
        assert verdict.refusal is None and "mcp-registry catalog lock" in (verdict.warning or "")


def test_a_malformed_lock_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "images.lock.json").write_text(json.dumps({"entries": ["x"]}))
    with pytest.raises(ValueError, match=r"images\.lock\.json is malformed"):
        ImageLock.load(tmp_path)


def _catalog(*images: str) -> Catalog:
    return Catalog(
        CatalogEntry(id=f"e{index}", name="e", description="d", image=image) for index, image in enumerate(images)
    )


@pytest.mark.parametrize(
    ("policy", "status", "unsigned"),
    [
        ({"default": [{"type": "insecureAcceptAnything"}]}, "warn", ["docker.io", "ghcr.io"]),
        (
            {
                "default": [{"type": "reject"}],
                "transports": {"docker": {"ghcr.io": [{"type": "sigstoreSigned", "keyPath": "/k.pub"}]}},
            },
            "warn",
            ["docker.io"],
        ),
        (
            {"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}]},
            "ok",
            [],
        ),
    ],
)
def test_image_trust_reads_the_users_policy_first(
    tmp_path: Path, policy: dict[str, object], status: str, unsigned: list[str]
) -> None:
    (tmp_path / ".config" / "containers").mkdir(parents=True)
    (tmp_path / ".config" / "containers" / "policy.json").write_text(json.dumps(policy))
    settings = RegistrySettings(catalog_dirs=(), config_dir=tmp_path / "config", runtime_dir=tmp_path / "run")
    check = check_image_trust(_catalog("docker.io/mcp/a", "ghcr.io/b/c:1", "localhost/t"), settings, tmp_path)
    assert (check.status, check.data["unsigned_registries"]) == (status, unsigned)
    assert check.details[0] == f"signature policy: {tmp_path}/.config/containers/policy.json"
    if unsigned:  # a lock file makes the missing signatures a note, not a warning
        saved_lock(settings.config_dir)
        pinned = check_image_trust(_catalog("docker.io/mcp/a", "ghcr.io/b/c:1"), settings, tmp_path)
        assert pinned.status == "ok" and "the lock file pins local images" in pinned.summary
