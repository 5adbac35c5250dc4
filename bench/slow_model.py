"""A slow fake model: an OpenAI-compatible endpoint that takes a set time per request.

The services' real `openai` clients talk to it over HTTP (LLM_BASE_URL), so everything the
LLM tier does around a model call (prompt building, the HTTP round trip, structured-output
parsing, guards and grounding checks, token and cost records) runs as in production; only
the provider's generation time is replaced by a fixed sleep.

It answers each task with a valid structured answer, so the pipeline takes the LLM tier's
success paths (`tests/fakes/openai_server.py` answers from a queue a test fills; here the
answer is derived from the request):
- classify: the topic by a keyword rule over the e-mail (the bench's templates only);
- summarise: the tier-0 summary of the message (keeps every number, so it is accepted);
- search / match: a catalog query built from the e-mail, which passes the guard;
- reply: the draft it was given (grounded by construction).

Every request's start and end (perf_counter, this process's clock) are recorded, so the
time spent waiting for the model can be set against the bench's event-to-draft times.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.memory.summaries import summarise_email
from tests.fakes.openai_server import chat_completion

_TASKS = (
    ("You triage", "classify"),
    ("You summarise", "summarise"),
    ("You turn a customer's e-mail", "search"),
    ("You are a customer-service writer", "reply"),
)
_FENCES = {
    "email": re.compile(r"<email>\n(.*?)\n</email>", re.S),
    "message": re.compile(r"<message>\n(.*?)\n</message>", re.S),
    "draft": re.compile(r"<draft>\n(.*?)\n</draft>", re.S),
}
_PRODUCT_WORDS = re.compile(r"\b(stock|shoes?|size|ultraboost|boots?|trainers?)\b", re.I)
_SIZE = re.compile(r"\b(?:size\s*)?(\d{1,2}(?:\.5)?)\b")
_PRICE = re.compile(r"under \$(\d+)")


@dataclass(frozen=True)
class ModelRequest:
    """One request the fake answered."""

    task: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _fenced(kind: str, messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        found = _FENCES[kind].search(str(message.get("content", "")))
        if found:
            return found.group(1)
    return ""


def _catalog_query(text: str) -> str:
    """A guard-passing query for the bench's product templates."""
    conditions = []
    if re.search(r"adidas", text, re.I):
        conditions.append("brand = 'Adidas'")
    if re.search(r"ultraboost", text, re.I):
        conditions.append("name ILIKE '%Ultraboost%'")
    if re.search(r"black", text, re.I):
        conditions.append("color ILIKE '%Black%'")
    size = _SIZE.search(text)
    if size:
        conditions.append(f"size_us = {size.group(1)}")
    price = _PRICE.search(text)
    if price:
        conditions.append(f"price < {price.group(1)}")
    where = " AND ".join(conditions) or "price > 0"
    return f"SELECT product_id, name FROM products WHERE {where} LIMIT 100"


def answer(task: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid structured answer for the task."""
    if task == "classify":
        text = _fenced("email", messages)
        topic = (
            "product_availability_or_recommendation"
            if _PRODUCT_WORDS.search(text)
            else "delivery_delay"
        )
        return {
            "topic": topic,
            "urgent": False,
            "urgency_reason": "",
            "requests": [topic.replace("_", " ")],
            "reply_needed": True,
            "confidence": 0.9,
            "reasons": ["bench fake model"],
        }
    if task == "summarise":
        text = _fenced("message", messages)
        head, _, body = text.partition("\n")
        return {"summary": summarise_email(head.removeprefix("Subject: "), body)}
    if task in ("search", "match"):
        return {
            "answerable": True,
            "decline_reason": "",
            "sql": _catalog_query(_fenced("email", messages)),
        }
    if task == "reply":
        return {"reply": _fenced("draft", messages)}
    return {}


@dataclass
class SlowModel:
    """The server; `latency_seconds` is slept on every request before it answers."""

    latency_seconds: float
    requests: list[ModelRequest] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def between(self, start: float, end: float) -> list[ModelRequest]:
        """The requests that began and ended within [start, end]."""
        with self._lock:
            return [r for r in self.requests if r.started >= start and r.ended <= end]

    def start(self) -> SlowModel:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a provider's endpoint

            def do_POST(self) -> None:
                started = time.perf_counter()
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                messages: list[dict[str, Any]] = body.get("messages", [])
                system = str(messages[0].get("content", "")) if messages else ""
                task = next((t for prefix, t in _TASKS if system.startswith(prefix)), "other")
                if task == "search" and "Task: Match" in str(messages[-1].get("content", "")):
                    task = "match"
                content = json.dumps(answer(task, messages))
                # Tokens roughly (4 characters each): exact counts are not what is measured.
                prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4
                payload = chat_completion(
                    body.get("model", "bench"), content, prompt, len(content) // 4
                )
                time.sleep(max(0.0, fake.latency_seconds - (time.perf_counter() - started)))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
                with fake._lock:
                    fake.requests.append(ModelRequest(task, started, time.perf_counter()))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
