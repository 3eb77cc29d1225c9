"""`catalog lock [--update]`: pin every catalog entry's image to the local image's id.

Contract: for each entry, the id of its image as present locally (through the Podman API) goes into
the lock file (`config.image_lock`); a package entry's image is the one built from its current
inputs (`podman.image_build`: its reference carries their hash), pinned by that reference and the
built image's id. Images that are not present are not pulled or built (a lock records
what you have and trust, not whatever a registry serves today): they are recorded as missing
(`digest: null`), listed, and the hint says to `mcp-registry pull` them and lock again. Without
`--update`, pins already made are kept: one that no longer matches the local image is reported
and the command exits 1; `--update` pins everything afresh (and drops entries no longer in the
catalog). Output: a list of `{entry, image, digest, status: pinned|unchanged|missing|mismatch|
repinned}` with `--json`, a table otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mcp_registry_server.cli.common import load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, emit_json, podman_failure, print_table


async def _local_ids(settings: Any, entries: list[Any]) -> tuple[list[Any], dict[str, str | None]]:
    """The entries with their images (a package entry's: the one built from its current inputs) and
    the local ids of those images."""
    from mcp_registry_server.podman.api import open_podman_api
    from mcp_registry_server.podman.errors import PodmanError
    from mcp_registry_server.podman.image_build import BuildRecipe, PackageBuilder

    try:
        async with open_podman_api(settings) as api:
            builder, resolved = PackageBuilder(settings, api.endpoint.cli_prefix(settings.podman_executable)), []
            ids: dict[str, str | None] = {}
            for entry in entries:
                if entry.package is None:
                    ids.setdefault(entry.image, await api.image_digest(entry.image))
                    resolved.append(entry)
                    continue
                base = settings.node_image if entry.package.registry == "npm" else settings.python_image
                if (base_id := await api.image_digest(base)) is None:
                    # Not built yet (its inputs include the base image's id): nothing to pin.
                    image = f"{entry.package.registry}:{entry.package.name}@{entry.package.version}"
                    ids[image] = None
                else:
                    recipe = BuildRecipe(entry.package, base, base_id)
                    image = recipe.reference
                    ids[image] = await builder.find(recipe)
                resolved.append(entry.model_copy(update={"image": image}))
            return resolved, ids
    except PodmanError as error:
        raise podman_failure(error) from None


def lock(options: argparse.Namespace) -> int:
    import anyio

    from mcp_registry_server.config.image_lock import ImageLock, ImagePin

    settings = load_settings()
    catalog = load_catalog(settings)
    try:
        image_lock = ImageLock.load(settings.config_dir)
    except ValueError as error:
        if not options.update:
            raise CLIError(str(error), hint="`mcp-registry catalog lock --update` writes a new one.") from None
        image_lock = ImageLock(settings.config_dir / "images.lock.json")
    # Remote entries run no image; a package entry is pinned by the image built from its inputs.
    runnable = [entry for entry in catalog.values() if entry.image or entry.package is not None]
    containers, local = anyio.run(_local_ids, settings, runnable)
    results: list[dict[str, Any]] = []
    pins = {} if options.update else dict(image_lock.pins)
    for entry in containers:
        digest, old = local[entry.image], image_lock.pins.get(entry.id)
        row = {"entry": entry.id, "image": entry.image, "digest": digest}
        if old is not None and old.digest is not None and not options.update:
            same = (old.image, old.digest) == (entry.image, digest)
            results.append({**row, "status": "unchanged" if same else "mismatch", "pinned": old.digest})
            continue
        pins[entry.id] = ImagePin(image=entry.image, digest=digest)
        if digest is None:
            status = "missing"
        elif old is not None and old.digest not in (None, digest):
            status = "repinned"
        else:
            status = "pinned"
        results.append({**row, "status": status})
    image_lock.pins = pins
    image_lock.save()
    mismatched = [row for row in results if row["status"] == "mismatch"]
    missing = [row["entry"] for row in results if row["status"] == "missing"]
    if options.json:
        emit_json(results)
    else:
        print_table(
            ["entry", "status", "image", "digest"],
            [[row["entry"], row["status"], row["image"], (row["digest"] or "-")[:19]] for row in results],
        )
    print(f"wrote {image_lock.path}", file=sys.stderr)
    if missing:
        print(
            f"not present locally, so not pinned: {', '.join(missing)} (`mcp-registry pull <entry>`, or "
            "`mcp-registry build <entry>` for a package entry, then lock again)",
            file=sys.stderr,
        )
    if mismatched:
        names = ", ".join(f"{row['entry']} (pinned {row['pinned']}, local {row['digest']})" for row in mismatched)
        raise CLIError(
            f"These images changed since they were locked: {names}.",
            hint="If you trust the new images: `mcp-registry catalog lock --update`.",
        )
    return 0
