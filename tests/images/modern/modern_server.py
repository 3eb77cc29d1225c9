"""A small MCP server on the MCP Python SDK 2.x that speaks both protocol eras, used by the tests.

Job: give the registry a real 2026-07-28 child. It runs the SDK's `MCPServer` over stdio, which is
dual-era: the client's first request decides. A `server/discover` (or any request carrying the
2026-07-28 `_meta` envelope) selects 2026-07-28; `initialize` selects the handshake era.

Contract:
- `echo(text)` returns `text`.
- The `ask_*` tools take no arguments and fill their parameters with the SDK's resolvers
  (`Resolve` + `Elicit` / `Sample` / `ListRoots`). On 2026-07-28 a call first returns an
  `InputRequiredResult` and completes when the client retries with `inputResponses` and the echoed
  `requestState`; on 2025 versions the SDK sends the same requests to the client mid-call.
  `ask_both` asks two independent questions (one round on 2026-07-28; two requests on 2025);
  `ask_in_sequence` asks a second question that depends on the first answer (two rounds).
  The `inputRequests` keys are the resolvers' names: `__main__:ask_name` (elicitation),
  `__main__:ask_hello` (sampling), `__main__:ask_roots` (roots), `__main__:ask_greeting_for`
  (sampling, the second round of `ask_in_sequence`).
- The prompt `greeting` and the resource template `modern://greeting/{language}` ask for a name
  first: an `InputRequiredResult` on 2026-07-28 (input key "name"), a mid-call
  `elicitation/create` on 2025 versions. `modern://about` is a plain static resource.
- Each answer is reported as text, so tests can check it arrived intact. A declined or cancelled
  elicitation is reported ("declined" / "cancelled"), not raised.
"""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp_types import (
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    Icon,
    InputRequiredResult,
    ListRootsResult,
    SamplingMessage,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

ICON = Icon(
    src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxNiAxNiI+"
    "PHJlY3Qgd2lkdGg9IjE2IiBoZWlnaHQ9IjE2IiBmaWxsPSJibHVlIi8+PC9zdmc+",
    mime_type="image/svg+xml",
    sizes=["any"],
)
NAME_QUESTION = "modern asks: what is your name?"

server = MCPServer("modern", version="1.0.0", instructions="A dual-era test server on the MCP Python SDK 2.x.")


class Person(BaseModel):
    name: str = Field(description="Your name")


# --- resolvers: each asks one question --------------------------------------------------------


def ask_name() -> Elicit[Person]:
    return Elicit(NAME_QUESTION, Person)


def ask_hello() -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(text="modern asks: say hello"))], max_tokens=64)


def ask_roots() -> ListRoots:
    return ListRoots()


def ask_greeting_for(person: Annotated[Person, Resolve(ask_name)]) -> Sample:
    message = SamplingMessage(role="user", content=TextContent(text=f"modern asks: greet {person.name}"))
    return Sample([message], max_tokens=64)


def describe_elicitation(outcome: ElicitationResult[Person]) -> str:
    return f"name={outcome.data.name}" if isinstance(outcome, AcceptedElicitation) else outcome.action + "d"


def describe_sample(result: CreateMessageResult) -> str:
    content = result.content
    text = content.text if isinstance(content, TextContent) else content.model_dump_json(by_alias=True)
    return f"sampled={text} model={result.model}"


# --- tools --------------------------------------------------------------------------------------


@server.tool(icons=[ICON])
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def ask_elicitation(person: Annotated[ElicitationResult[Person], Resolve(ask_name)]) -> str:
    """Ask the user's name (form elicitation); reply 'name=<name>', 'declined' or 'cancelled'."""
    return describe_elicitation(person)


@server.tool()
def ask_sampling(sampled: Annotated[CreateMessageResult, Resolve(ask_hello)]) -> str:
    """Ask the client's LLM to say hello; reply 'sampled=<text> model=<model>'."""
    return describe_sample(sampled)


@server.tool()
def ask_roots_list(roots: Annotated[ListRootsResult, Resolve(ask_roots)]) -> str:
    """Ask the client's roots; reply 'roots=<JSON list of URIs>'."""
    return "roots=" + json.dumps([str(root.uri) for root in roots.roots])


@server.tool()
def ask_both(
    person: Annotated[ElicitationResult[Person], Resolve(ask_name)],
    sampled: Annotated[CreateMessageResult, Resolve(ask_hello)],
) -> str:
    """Ask two independent things (elicitation and sampling); reply '<elicitation>; <sample>'."""
    return f"{describe_elicitation(person)}; {describe_sample(sampled)}"


@server.tool()
def ask_in_sequence(
    person: Annotated[Person, Resolve(ask_name)],
    greeting: Annotated[CreateMessageResult, Resolve(ask_greeting_for)],
) -> str:
    """Ask a name, then sample a greeting for it (two rounds); reply 'name=<name>; sampled=...'."""
    return f"name={person.name}; {describe_sample(greeting)}"


# --- a prompt and a resource that need input -----------------------------------------------------


def name_request() -> ElicitRequest:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    return ElicitRequest(params=ElicitRequestFormParams(message=NAME_QUESTION, requested_schema=schema))


async def name_or_input_required(ctx: Context) -> str | InputRequiredResult:
    """The elicited name, or (2026-07-28, first round) the InputRequiredResult that asks for it."""
    if ctx.protocol_version is not None and is_version_at_least(ctx.protocol_version, "2026-07-28"):
        answer = (ctx.input_responses or {}).get("name")
        if not isinstance(answer, ElicitResult):
            return InputRequiredResult(input_requests={"name": name_request()})
        if answer.action != "accept" or not answer.content:
            return f"({answer.action}d)"
        return str(answer.content.get("name"))
    outcome = await ctx.elicit(NAME_QUESTION, Person)
    return outcome.data.name if isinstance(outcome, AcceptedElicitation) else f"({outcome.action}d)"


@server.prompt(icons=[ICON])
async def greeting(ctx: Context) -> str | InputRequiredResult:
    """Ask the user's name, then render a greeting for it."""
    name = await name_or_input_required(ctx)
    return name if isinstance(name, InputRequiredResult) else f"Please greet {name}."


@server.resource("modern://greeting/{language}", mime_type="text/plain", icons=[ICON])
async def greeting_resource(language: str, ctx: Context) -> str | InputRequiredResult:
    """A greeting in `language` for a name asked from the user."""
    name = await name_or_input_required(ctx)
    return name if isinstance(name, InputRequiredResult) else f"[{language}] Hello, {name}!"


@server.resource("modern://about", mime_type="text/plain")
def about() -> str:
    """What this server is."""
    return "modern: a dual-era MCP test server on the Python SDK 2.x\n"


if __name__ == "__main__":
    server.run()
