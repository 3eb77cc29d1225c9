"""A stdio MCP server with every name the MCP conformance suite's server scenarios call.

Our own implementation of the behaviour the `@modelcontextprotocol/conformance` scenario
descriptions ask for (`conformance list --server`): tools `test_*`, prompts `test_*`, resources
`test://…`, completion, subscriptions and logging levels. The e2e test mounts it unprefixed behind
`mcp-registry serve --http` and runs the suite against the registry. Built on the MCP Python SDK's
low-level server (1.x), stdlib otherwise.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.stdio import stdio_server

# A 1x1 red PNG and a 1-sample 8 kHz mono WAV.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQIAAACAgA=="
NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}

server: Server[Any, Any] = Server("conformance-target", version="1.0.0")
subscriptions: set[str] = set()


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


def _tool(name: str, description: str, **properties: str) -> types.Tool:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key: {"type": "string", "description": text} for key, text in properties.items()},
    }
    if properties:
        schema["required"] = list(properties)
    return types.Tool(name=name, description=description, inputSchema=schema)


TOOLS = [
    _tool("test_simple_text", "Returns a simple text response."),
    _tool("test_image_content", "Returns a 1x1 PNG image."),
    _tool("test_audio_content", "Returns a short WAV sound."),
    _tool("test_embedded_resource", "Returns an embedded text resource."),
    _tool("test_multiple_content_types", "Returns text, an image and an embedded resource."),
    _tool("test_tool_with_logging", "Sends three info log messages while it runs."),
    _tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100."),
    _tool("test_error_handling", "Always fails."),
    _tool("test_sampling", "Asks the client's LLM.", prompt="The prompt to send to the LLM"),
    _tool("test_elicitation", "Asks the user.", message="The message to show the user"),
    _tool("test_elicitation_sep1034_defaults", "Asks the user, with defaults for every primitive type."),
    _tool("test_elicitation_sep1330_enums", "Asks the user, with every enum schema variant."),
]

DEFAULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}
ENUMS_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}
USER_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}


@server.list_tools()
async def list_tools() -> list[types.Tool]:
    return TOOLS


async def _elicit(message: str, schema: dict[str, Any]) -> types.ElicitResult:
    context = server.request_context
    return await context.session.elicit_form(message, schema, related_request_id=context.request_id)


@server.call_tool()
async def call_tool(name: str, arguments: dict[str, Any]) -> Any:
    context = server.request_context
    session, request_id = context.session, context.request_id
    match name:
        case "test_simple_text":
            return [_text("This is a simple text response for testing.")]
        case "test_image_content":
            return [types.ImageContent(type="image", data=PNG, mimeType="image/png")]
        case "test_audio_content":
            return [types.AudioContent(type="audio", data=WAV, mimeType="audio/wav")]
        case "test_embedded_resource":
            resource = types.TextResourceContents(
                uri="test://embedded-resource", mimeType="text/plain", text="This is an embedded resource content."
            )
            return [types.EmbeddedResource(type="resource", resource=resource)]
        case "test_multiple_content_types":
            resource = types.TextResourceContents(
                uri="test://mixed-content-resource", mimeType="application/json", text='{"test":"data","value":123}'
            )
            return [
                _text("Multiple content types test:"),
                types.ImageContent(type="image", data=PNG, mimeType="image/png"),
                types.EmbeddedResource(type="resource", resource=resource),
            ]
        case "test_tool_with_logging":
            for step, message in enumerate(
                ("Tool execution started", "Tool processing data", "Tool execution completed")
            ):
                if step:
                    await anyio.sleep(0.05)
                await session.send_log_message("info", message, logger="conformance", related_request_id=request_id)
            return [_text("Tool with logging executed successfully")]
        case "test_tool_with_progress":
            token = context.meta.progressToken if context.meta else None
            for step, progress in enumerate((0, 50, 100)):
                if step:
                    await anyio.sleep(0.05)
                if token is not None:
                    await session.send_progress_notification(token, progress, 100, related_request_id=request_id)
            return [_text("Tool with progress executed successfully")]
        case "test_error_handling":
            raise ValueError("This tool intentionally returns an error for testing")
        case "test_sampling":
            message = types.SamplingMessage(role="user", content=_text(str(arguments.get("prompt", ""))))
            sampled = await session.create_message([message], max_tokens=100, related_request_id=request_id)
            answer = sampled.content.text if isinstance(sampled.content, types.TextContent) else str(sampled.content)
            return [_text(f"LLM response: {answer}")]
        case "test_elicitation":
            result = await _elicit(str(arguments.get("message", "")), USER_SCHEMA)
            return [_text(f"User response: action={result.action}, content={json.dumps(result.content)}")]
        case "test_elicitation_sep1034_defaults" | "test_elicitation_sep1330_enums":
            schema = DEFAULTS_SCHEMA if name.endswith("defaults") else ENUMS_SCHEMA
            result = await _elicit("Please review and update the form fields", schema)
            return [_text(f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}")]
    raise ValueError(f"Unknown tool: {name}")


RESOURCES = {
    "test://static-text": ("Static text", "text/plain", "This is the content of the static text resource."),
    "test://static-binary": ("Static binary", "image/png", None),
    "test://watched-resource": ("Watched resource", "text/plain", "Watched resource content."),
}


@server.list_resources()
async def list_resources() -> list[types.Resource]:
    return [
        types.Resource(uri=uri, name=name, description=f"{name} resource for testing", mimeType=mime)  # type: ignore[arg-type]
        for uri, (name, mime, _) in RESOURCES.items()
    ]


@server.list_resource_templates()
async def list_resource_templates() -> list[types.ResourceTemplate]:
    return [
        types.ResourceTemplate(
            uriTemplate="test://template/{id}/data",
            name="Template data",
            description="Data for an id",
            mimeType="application/json",
        )
    ]


@server.read_resource()
async def read_resource(uri: Any) -> Any:
    from mcp.server.lowlevel.helper_types import ReadResourceContents

    text_uri = str(uri)
    if text_uri == "test://static-binary":
        import base64

        return [ReadResourceContents(content=base64.b64decode(PNG), mime_type="image/png")]
    if text_uri in RESOURCES:
        _, mime, text = RESOURCES[text_uri]
        return [ReadResourceContents(content=text or "", mime_type=mime)]
    if text_uri.startswith("test://template/") and text_uri.endswith("/data"):
        item = text_uri[len("test://template/") : -len("/data")]
        body = json.dumps({"id": item, "templateTest": True, "data": f"Data for ID: {item}"}, separators=(",", ":"))
        return [ReadResourceContents(content=body, mime_type="application/json")]
    raise ValueError(f"Unknown resource: {text_uri}")


@server.subscribe_resource()
async def subscribe(uri: Any) -> None:
    subscriptions.add(str(uri))


@server.unsubscribe_resource()
async def unsubscribe(uri: Any) -> None:
    subscriptions.discard(str(uri))


@server.set_logging_level()
async def set_level(level: types.LoggingLevel) -> None:
    return None


PROMPTS = [
    types.Prompt(name="test_simple_prompt", description="A simple prompt without arguments"),
    types.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with two required arguments",
        arguments=[
            types.PromptArgument(name="arg1", description="First test argument", required=True),
            types.PromptArgument(name="arg2", description="Second test argument", required=True),
        ],
    ),
    types.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt that embeds a resource",
        arguments=[types.PromptArgument(name="resourceUri", description="URI of the resource", required=True)],
    ),
    types.Prompt(name="test_prompt_with_image", description="A prompt with an image"),
]


@server.list_prompts()
async def list_prompts() -> list[types.Prompt]:
    return PROMPTS


@server.get_prompt()
async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
    arguments = arguments or {}

    def user(content: Any) -> types.PromptMessage:
        return types.PromptMessage(role="user", content=content)

    match name:
        case "test_simple_prompt":
            messages = [user(_text("This is a simple prompt for testing."))]
        case "test_prompt_with_arguments":
            text = f"Prompt with arguments: arg1='{arguments.get('arg1', '')}', arg2='{arguments.get('arg2', '')}'"
            messages = [user(_text(text))]
        case "test_prompt_with_embedded_resource":
            resource = types.TextResourceContents(
                uri=arguments.get("resourceUri", "test://example-resource"),  # type: ignore[arg-type]
                mimeType="text/plain",
                text="Embedded resource content for testing.",
            )
            messages = [
                user(types.EmbeddedResource(type="resource", resource=resource)),
                user(_text("Please process the embedded resource above.")),
            ]
        case "test_prompt_with_image":
            messages = [
                user(types.ImageContent(type="image", data=PNG, mimeType="image/png")),
                user(_text("Please analyze the image above.")),
            ]
        case _:
            raise ValueError(f"Unknown prompt: {name}")
    return types.GetPromptResult(messages=messages)


@server.completion()
async def complete(ref: Any, argument: types.CompletionArgument, context: Any) -> types.Completion:
    return types.Completion(values=[], total=0, hasMore=False)


async def main() -> None:
    options = server.create_initialization_options(NotificationOptions(resources_changed=True))
    options.capabilities.resources.subscribe = True  # type: ignore[union-attr]
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, options)


if __name__ == "__main__":
    anyio.run(main)
