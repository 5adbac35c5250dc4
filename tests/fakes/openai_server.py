"""A local OpenAI-compatible HTTP server for tests: the real `openai` client talks to it.

It answers POST /v1/chat/completions with whatever the test queued: a JSON body for the
assistant message, an HTTP error status, or a delay longer than the client's timeout.
Usage is reported like a provider does: prompt and completion tokens counted with the
o200k_base encoding, and as cached the leading messages identical to an earlier request's
(a prompt cache, without the provider's minimum length).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.common.model_calls import count_message_tokens, count_tokens


def chat_completion(
    model: str, content: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> dict[str, Any]:
    """An OpenAI chat-completion response body with one answer and its usage."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


@dataclass
class Reply:
    """One queued answer."""

    content: dict[str, Any] | str | None = None
    status: int = 200
    delay_seconds: float = 0.0


@dataclass
class FakeOpenAI:
    """The server, the replies it will give, and the requests it received."""

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def cached_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Tokens of the leading messages that an earlier request began with too."""
        best = 0
        for earlier in self.requests[:-1]:
            shared = 0
            for a, b in zip(earlier.get("messages", []), messages, strict=False):
                if a != b:
                    break
                shared += 1
            best = max(best, shared)
        return count_message_tokens(messages[:best]) - 3 if best else 0

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        fake = self
        # Load the token tables now, not inside the first request (half a second, which
        # a client's short timeout would count against the model).
        count_tokens("warm up")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                reply = fake.replies.popleft() if fake.replies else Reply(status=500)
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                payload: dict[str, Any]
                if reply.status != 200:
                    payload = {"error": {"message": "fake failure", "type": "server_error"}}
                else:
                    content = (
                        reply.content
                        if isinstance(reply.content, str)
                        else json.dumps(reply.content)
                    )
                    messages = body.get("messages", [])
                    prompt = count_message_tokens(messages)
                    cached = fake.cached_tokens(messages)
                    completion = count_tokens(content)
                    payload = chat_completion(
                        body.get("model", "fake"), content, prompt, completion, cached
                    )
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
