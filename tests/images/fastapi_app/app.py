"""A small REST API for the OpenAPI e2e test: API-key auth, path/query/body parameters, an error route.

It never echoes the key: `key_ok` says whether the request carried the expected one (the
`NOTES_API_KEY` env var). FastAPI serves its OpenAPI 3.1 document at /openapi.json. It is also an
OAuth2 token endpoint (client credentials by HTTP basic, `NOTES_CLIENT_SECRET` for client
`notes-client`; not in the document) whose tokens `/whoami` accepts.
"""

from __future__ import annotations

import base64
import os
import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Query, Request, Security
from fastapi.responses import PlainTextResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

app = FastAPI(title="Notes API", version="1.0.0")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
bearer = HTTPBearer(auto_error=False)
NOTES: dict[int, str] = {1: "first note"}
TOKENS: list[str] = []


class NoteIn(BaseModel):
    text: str
    tags: list[str] = []


class Note(BaseModel):
    id: int
    text: str
    key_ok: bool


def _key_ok(key: str | None) -> bool:
    return key is not None and key == os.environ.get("NOTES_API_KEY")


@app.get("/notes/{note_id}", operation_id="get_note", summary="Read one note", response_model=Note)
def get_note(note_id: int, upper: bool = Query(False), key: str | None = Security(api_key)) -> Note:
    if note_id not in NOTES:
        raise HTTPException(404, detail=f"no note {note_id}")
    text = NOTES[note_id]
    return Note(id=note_id, text=text.upper() if upper else text, key_ok=_key_ok(key))


@app.post("/notes", operation_id="create_note", summary="Create a note", response_model=Note)
def create_note(note: NoteIn, key: str | None = Security(api_key)) -> Note:
    note_id = max(NOTES) + 1
    NOTES[note_id] = note.text
    return Note(id=note_id, text=note.text, key_ok=_key_ok(key))


@app.delete("/notes/{note_id}", operation_id="delete_note", summary="Delete a note")
def delete_note(note_id: int, key: str | None = Security(api_key)) -> dict[str, bool]:
    if not _key_ok(key):
        raise HTTPException(401, detail="the API key did not match")
    NOTES.pop(note_id, None)
    return {"deleted": True, "key_ok": True}


@app.get("/fail", operation_id="always_fails", summary="Fails with a 418")
def always_fails() -> dict[str, str]:
    raise HTTPException(418, detail="the teapot refuses")


@app.get("/hello", operation_id="hello_text", summary="Greets in plain text", response_class=PlainTextResponse)
def hello_text(name: str) -> str:
    return f"hello {name}"


@app.post("/token", include_in_schema=False)
async def token(request: Request) -> dict[str, object]:
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    expected = "Basic " + base64.b64encode(f"notes-client:{os.environ.get('NOTES_CLIENT_SECRET')}".encode()).decode()
    if request.headers.get("authorization") != expected or form.get("grant_type") != "client_credentials":
        raise HTTPException(401, detail="bad client credentials")
    TOKENS.append(secrets.token_hex(16))
    return {"access_token": TOKENS[-1], "token_type": "bearer", "expires_in": 3600, "scope": form.get("scope", "")}


@app.get("/whoami", operation_id="whoami", summary="Says whether the bearer token is one this API issued")
def whoami(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> dict[str, object]:
    return {"token_ok": credentials is not None and credentials.credentials in TOKENS, "tokens_issued": len(TOKENS)}
