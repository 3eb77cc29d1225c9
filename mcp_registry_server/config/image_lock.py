"""The image lock file: which local image each catalog entry was pinned to, and the check against it.

Contract: `images.lock.json` in the config dir (0600, written atomically) holds, per entry id, the
image reference and the local image's id (`sha256:…`, content-addressed: a re-tag or a new pull
under the same name changes it), or `null` for an image that was not present when locked.
`mcp-registry catalog lock` writes it (`--update` re-pins everything); the registry reads it at each
activation, so a re-lock takes effect without a restart.

`ImageLock.verdict(entry_id, image, local_id)` decides an activation:
- no lock file: allowed, nothing said (pinning is opt-in);
- pinned, same reference and id: allowed;
- pinned, another id or reference (or Podman could not say which id): refused, with both ids and the
  command to re-lock;
- not pinned (entry added, or its image missing, after the last lock): allowed with a warning.
  Refusing would break every entry added since the last lock until the user re-locks, and the
  warning names the command that pins it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_registry_server.files import write_atomic

__all__ = ["LOCK_FILE_NAME", "RELOCK_COMMAND", "ImageLock", "ImagePin", "LockVerdict"]

LOCK_FILE_NAME = "images.lock.json"
RELOCK_COMMAND = "mcp-registry catalog lock --update"
_VERSION = 1


@dataclass(frozen=True)
class ImagePin:
    image: str
    digest: str | None  # the local image id when locked; None: the image was not present


@dataclass(frozen=True)
class LockVerdict:
    refusal: str | None = None
    warning: str | None = None


@dataclass
class ImageLock:
    path: Path
    pins: dict[str, ImagePin] = field(default_factory=dict)
    exists: bool = False

    @classmethod
    def load(cls, config_dir: Path) -> ImageLock:
        """The lock file in `config_dir`; ValueError naming the file when it is not one we wrote."""
        path = config_dir / LOCK_FILE_NAME
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(
                f"cannot read the image lock file {path}: {error}; re-create it with {RELOCK_COMMAND}"
            ) from None
        try:
            pins = {
                str(entry_id): ImagePin(image=str(pin["image"]), digest=pin["digest"] and str(pin["digest"]))
                for entry_id, pin in document["entries"].items()
            }
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"the image lock file {path} is malformed; re-create it with {RELOCK_COMMAND}") from None
        return cls(path, pins, exists=True)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document: dict[str, Any] = {
            "version": _VERSION,
            "entries": {
                entry_id: {"image": pin.image, "digest": pin.digest} for entry_id, pin in sorted(self.pins.items())
            },
        }
        write_atomic(self.path, (json.dumps(document, indent=2) + "\n").encode(), mode=0o600)
        self.exists = True

    def verdict(self, entry_id: str, image: str, local_id: str | None) -> LockVerdict:
        """Whether `entry_id` may start from the local `image` (id `local_id`); see the module contract."""
        if not self.exists:
            return LockVerdict()
        pin = self.pins.get(entry_id)
        if pin is None or pin.digest is None:
            return LockVerdict(
                warning=f"{entry_id}'s image is not pinned in {self.path}; `mcp-registry catalog lock` pins it."
            )
        if pin.image != image:
            return LockVerdict(
                refusal=f"{entry_id} now names image {image}, but {self.path} pins {pin.image} ({pin.digest}). "
                f"If the catalog change is intended, re-lock: `{RELOCK_COMMAND}`."
            )
        if local_id != pin.digest:
            return LockVerdict(
                refusal=f"The local image {image} of {entry_id} is {local_id or 'of unknown id'}, but {self.path} "
                f"pins {pin.digest}, so it was not started: the image changed since it was locked. If you trust "
                f"the new image, re-lock: `{RELOCK_COMMAND}`."
            )
        return LockVerdict()
