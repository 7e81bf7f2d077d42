"""Subject and stream names of one deployment (docs/WIRE.md §1, transport/wire/subjects.cpp),
and the subject-token rule roles, types, ids and schedule names must pass."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidTask

MAX_TOKEN_BYTES = 1024

# Whitespace and control characters as the C locale's isspace/iscntrl see each byte, plus what
# the API refuses beside them (services/orchestrator/request_fields.cpp, check_token): '"' and
# '\\' break the JSON of JetStream API requests in nats.c, '/' cannot stand in an API path.
_REFUSED = frozenset(".*>\"\\/ \t\n\v\f\r\x7f") | frozenset(chr(c) for c in range(32))


def check_token(value: object, field: str, max_bytes: int = MAX_TOKEN_BYTES) -> str:
    """``value`` as one subject token: 1 to ``max_bytes`` bytes of UTF-8 without '.', '*',
    '>', '"', '\\', '/', whitespace or control characters; InvalidTask otherwise."""
    if not isinstance(value, str):
        raise InvalidTask(field, f"must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidTask(field, "must not be empty")
    bad = next((c for c in value if c in _REFUSED), None)
    if bad is not None:
        raise InvalidTask(
            field,
            f"{value!r} has {bad!r}; it must be one subject token (no '.', '*', '>', '\"', "
            "'\\', '/', whitespace or control characters)",
        )
    size = len(utf8(value, field))
    if size > max_bytes:
        raise InvalidTask(field, f"{size} bytes, over the limit of {max_bytes}")
    return value


def utf8(text: str, field: str) -> bytes:
    """``text`` as strict UTF-8 (a lone surrogate cannot be sent as a msgpack str)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidTask(field, f"is not valid UTF-8 text ({err.reason})") from None


def stream_prefix(prefix: str) -> str:
    """Letters and digits upper-cased, every other character '_': acme-prod → ACME_PROD."""
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in prefix)


@dataclass(frozen=True)
class Names:
    """Every subject and stream of the deployment under ``prefix`` (default "smith")."""

    prefix: str = "smith"

    def _join(self, *parts: str) -> str:
        return ".".join((self.prefix, *parts))

    # -- subjects ------------------------------------------------------------------------------

    def task(self, role: str, type_: str, task_id: str) -> str:
        return self._join("task", role, type_, task_id)

    def task_of(self, task_id: str) -> str:
        return self._join("task", "*", "*", task_id)

    def schedule(self, role: str, type_: str, task_id: str) -> str:
        return self._join("schedule", role, type_, task_id)

    def schedule_of(self, task_id: str) -> str:
        return self._join("schedule", "*", "*", task_id)

    def recurring(self, role: str, type_: str, name: str) -> str:
        return self._join("recurring", role, type_, name)

    def recurring_of(self, name: str) -> str:
        return self._join("recurring", "*", "*", name)

    def all_recurring(self) -> str:
        return self._join("recurring", ">")

    def fired_of(self, name: str) -> str:
        return self._join("fired", "*", name)

    def result(self, role: str, task_id: str) -> str:
        return self._join("result", role, task_id)

    def result_of(self, task_id: str) -> str:
        return self._join("result", "*", task_id)

    def event(self, task_id: str) -> str:
        return self._join("event", task_id)

    def cancel(self, task_id: str) -> str:
        return self._join("cancel", task_id)

    def all_dlq(self) -> str:
        return self._join("dlq", ">")

    def parse(self, subject: str, kind: str) -> tuple[str, str, str] | None:
        """(role, type, id) of ``<prefix>.<kind>.<role>.<type>.<id>``; None for any other
        subject (as subjects::parse_task, parse_schedule and parse_recurring)."""
        head = f"{self.prefix}.{kind}."
        if not subject.startswith(head):
            return None
        parts = subject[len(head):].split(".")
        if len(parts) != 3 or not all(p and not (set(p) & _SUBJECT_BAD) for p in parts):
            return None
        return parts[0], parts[1], parts[2]

    # -- streams and consumers -----------------------------------------------------------------

    @property
    def tasks_stream(self) -> str:
        return stream_prefix(self.prefix) + "_TASKS"

    @property
    def results_stream(self) -> str:
        return stream_prefix(self.prefix) + "_RESULTS"

    @property
    def dlq_stream(self) -> str:
        return stream_prefix(self.prefix) + "_DLQ"

    @property
    def firings_stream(self) -> str:
        return stream_prefix(self.prefix) + "_FIRINGS"

    @staticmethod
    def consumer(role: str) -> str:
        return "role-" + role


# What wire::is_subject_token refuses (the parser of stored subjects is that lenient).
_SUBJECT_BAD = frozenset(".*> \t\n\v\f\r\x7f") | frozenset(chr(c) for c in range(32))
