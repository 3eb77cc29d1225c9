"""`build ENTRY…`: build package entries into their images ahead of time, so that adding them is quick.

Contract: for each entry (it must name a package), the image `registry.images` would build on its
first add is found by its inputs or built now, through the same code, with a progress bar on
stderr (build steps, then the latest log line). Prints each entry's image and whether it was
cached (`{entry, image, id, cached}` objects with `--json`). A failed build prints what failed, the
step and the end of the build log, and the command exits 1 after trying the others.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mcp_registry_server.cli.common import find_entry, load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, ProgressBar, Style, emit_json, podman_failure, print_table


async def _build_all(settings: Any, entries: list[Any]) -> list[dict[str, Any]]:
    from mcp_registry_server.podman.api import open_podman_api
    from mcp_registry_server.podman.errors import PodmanError
    from mcp_registry_server.registry.errors import RegistryError
    from mcp_registry_server.registry.images import EntryImages

    images = EntryImages(settings)
    results: list[dict[str, Any]] = []
    try:
        async with open_podman_api(settings) as api:
            for entry in entries:
                bar = ProgressBar(f"building {entry.id}")

                async def progress(
                    done: float, total: float | None, message: str | None, bar: ProgressBar = bar
                ) -> None:
                    bar.update(done if total else None, total, message or "")

                try:
                    built = await images.build(entry, api, progress)
                except RegistryError as error:
                    bar.finish(f"{entry.id}: {Style(sys.stderr).red('failed')}")
                    print(str(error), file=sys.stderr)
                    results.append({"entry": entry.id, "status": "failed", "error": str(error)})
                    continue
                bar.finish(f"{entry.id}: {built.reference} ({'cached' if built.cached else 'built'})")
                results.append(
                    {"entry": entry.id, "image": built.reference, "id": built.image_id, "cached": built.cached}
                )
    except PodmanError as error:
        raise podman_failure(error) from None
    return results


def build(options: argparse.Namespace) -> int:
    import anyio

    settings = load_settings()
    catalog = load_catalog(settings)
    from mcp_registry_server.openapi_server import runtime_entry

    # An openapi entry builds its runtime: the FastMCP package (unless MCP_REGISTRY_OPENAPI_IMAGE names an image).
    entries = [runtime_entry(find_entry(catalog, entry_id), settings.openapi_image) for entry_id in options.entries]
    if not_packages := [entry.id for entry in entries if entry.package is None]:
        raise CLIError(
            f"{', '.join(not_packages)} name no package, so there is nothing to build.",
            hint="`mcp-registry build` is for entries with a [package] or [openapi] table; `mcp-registry pull` "
            "fetches images.",
            exit_code=2,
        )
    results = anyio.run(_build_all, settings, entries)
    if options.json:
        emit_json(results)
    else:
        print_table(
            ["entry", "image", "cached"],
            [
                [row["entry"], row.get("image", "-"), "failed" if "error" in row else str(row["cached"]).lower()]
                for row in results
            ],
        )
    return 1 if any("error" in row for row in results) else 0
