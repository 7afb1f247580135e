"""Validation of Bot API requests against the machine-readable spec (``api.min.json``).

The spec lives in ``tests/standin/telegram-bot-api/api.min.json``, a copy kept in the repository
with its MIT licence (override with the ``TELEGRAM_API_SPEC`` environment variable).  Its layout is
``methods[NAME].fields[]`` / ``types[NAME].fields[]`` with ``name``, ``types``
(e.g. ``["Integer", "String"]`` or ``["Array of Array of InlineKeyboardButton"]``),
``required`` and ``description``; union types list their members in ``subtypes``.

:class:`Validator` turns raw request parameters into typed values the same way
the Bot API server does: form-encoded / multipart values always arrive as strings
(objects and arrays as JSON text) and are decoded according to the field type;
JSON bodies may carry native values.  Problems are reported in two ways:

* fatal ones raise :class:`ApiError` carrying the 400 description Telegram would
  give (e.g. ``Bad Request: BUTTON_DATA_INVALID``);
* tolerable ones (unknown fields, numbers sent where strings are expected, ...)
  are returned as warnings — Telegram ignores them, the stand-in records them as
  violations so tests can catch sloppy requests.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SPEC_ENV",
    "ApiError",
    "ApiSpec",
    "FieldSpec",
    "ObjectSpec",
    "UploadedFile",
    "Validator",
    "default_spec_path",
]

SPEC_ENV = "TELEGRAM_API_SPEC"

_PRIMITIVES = frozenset({"Integer", "Float", "String", "Boolean", "InputFile", "True"})
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DISCRIMINATOR_RE = re.compile(r'(?:must be|always) (?!one\b)"?([a-z_]+)"?')
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

#: Fields of a button that do not define what the button does.
_BUTTON_PASSIVE_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})
_BUTTON_STYLES = frozenset({"danger", "success", "primary"})
_URL_RE = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)


def default_spec_path() -> Path:
    """``$TELEGRAM_API_SPEC`` or the copy beside this module (``telegram-bot-api/api.min.json``)."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "telegram-bot-api" / "api.min.json"


class ApiError(Exception):
    """An error response of the Bot API.

    ``violation`` tells whether the error is the bot's fault (a protocol misuse
    to be recorded in ``FakeTelegram.violations``) or a simulated condition
    (blocked user, injected failure, ...).
    """

    def __init__(
        self,
        description: str,
        error_code: int = 400,
        *,
        retry_after: int | None = None,
        violation: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.violation = violation

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart/form-data request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return (
            f"UploadedFile(name={self.name!r}, filename={self.filename!r}, "
            f"content_type={self.content_type!r}, size={len(self.data)})"
        )


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class ObjectSpec:
    """A method or a type of the spec."""

    name: str
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()

    def discriminator(self) -> tuple[str, str] | None:
        """(field, value) for union members like ``MenuButtonCommands`` (type == commands)."""
        for key in ("type", "source", "status"):
            spec = self.fields.get(key)
            if spec is not None:
                match = _DISCRIMINATOR_RE.search(spec.description)
                if match:
                    return key, match.group(1)
        return None


class ApiSpec:
    """The parsed spec: methods (looked up case-insensitively, like Telegram) and types."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = str(data.get("version", "?"))
        self.methods = {name: self._object(raw) for name, raw in data["methods"].items()}
        self.types = {name: self._object(raw) for name, raw in data["types"].items()}
        self._methods_lower = {name.lower(): name for name in self.methods}

    @staticmethod
    def _object(raw: dict[str, Any]) -> ObjectSpec:
        fields = {
            f["name"]: FieldSpec(
                f["name"], tuple(f["types"]), bool(f.get("required")),
                " ".join(f.get("description", "")) if isinstance(f.get("description"), list)
                else str(f.get("description", "")),
            )
            for f in raw.get("fields", [])
        }
        return ObjectSpec(
            raw["name"], fields, tuple(raw.get("subtypes", ())), tuple(raw.get("returns", ()))
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ApiSpec:
        """Load (and cache) the spec from ``path`` or :func:`default_spec_path`."""
        return _load_cached(str(Path(path) if path else default_spec_path()))

    def method(self, name: str) -> ObjectSpec | None:
        canonical = self._methods_lower.get(name.lower())
        return self.methods[canonical] if canonical else None


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> ApiSpec:
    try:
        with open(path, encoding="utf-8") as fh:
            return ApiSpec(json.load(fh))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Telegram Bot API spec not found at {path}; set ${SPEC_ENV} to its location"
        ) from exc


class _Ctx:
    """Per-request validation context collecting warnings."""

    def __init__(self, files: dict[str, UploadedFile]) -> None:
        self.files = files
        self.warnings: list[str] = []
        self.used_files: set[str] = set()

    def child(self) -> _Ctx:
        return _Ctx(self.files)

    def merge(self, other: _Ctx) -> None:
        self.warnings.extend(other.warnings)
        self.used_files |= other.used_files


def _human(type_name: str) -> str:
    return {
        "InlineKeyboardButton": "inline keyboard button",
        "KeyboardButton": "keyboard button",
        "InlineKeyboardMarkup": "inline keyboard",
        "ReplyKeyboardMarkup": "reply keyboard",
        "BotCommand": "bot command",
    }.get(type_name, type_name)


class Validator:
    """Checks and normalises request parameters of one Bot API method."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec

    # ------------------------------------------------------------------ top level
    def validate(
        self,
        method: ObjectSpec,
        params: dict[str, Any],
        files: dict[str, UploadedFile] | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Return ``(normalised_params, warnings)`` or raise :class:`ApiError`.

        ``params`` are the non-file parameters (strings for form data, native
        values for JSON); ``files`` are the multipart file parts by part name.
        """
        ctx = _Ctx(dict(files or {}))
        raw: dict[str, Any] = dict(params)
        for part_name, upload in ctx.files.items():
            if part_name in method.fields and part_name not in raw:
                raw[part_name] = upload
                ctx.used_files.add(part_name)

        result: dict[str, Any] = {}
        for name, value in raw.items():
            if value is None:
                continue  # JSON null == parameter not given
            spec = method.fields.get(name)
            if spec is None:
                if name not in ctx.files:
                    ctx.warnings.append(f"unknown parameter {name!r}")
                continue
            result[name] = self._top_value(spec, value, ctx)

        for spec in method.fields.values():
            if spec.required and (name := spec.name) not in result:
                if "InputFile" in spec.types:
                    raise ApiError(f"Bad Request: there is no {name} in the request")
                if name == "text":
                    raise ApiError("Bad Request: message text is empty")
                raise ApiError(f"Bad Request: {name} is empty")

        for part_name in ctx.files:
            if part_name not in ctx.used_files:
                ctx.warnings.append(
                    f"uploaded file part {part_name!r} is not used by any parameter"
                )
        return result, ctx.warnings

    def _top_value(self, spec: FieldSpec, value: Any, ctx: _Ctx) -> Any:
        name = spec.name
        types = spec.types
        if isinstance(value, UploadedFile):
            if "InputFile" in types:
                return value
            raise ApiError(f'Bad Request: parameter "{name}" can\'t be a file')
        if isinstance(value, str):
            return self._from_string(name, types, value, ctx)
        # JSON-native value
        return self._check_union(value, types, name, ctx)

    def _from_string(self, name: str, types: tuple[str, ...], value: str, ctx: _Ctx) -> Any:
        """Decode a form/query string like the Bot API server does."""
        stripped = value.strip()
        if "InputFile" in types and value.startswith("attach://"):
            return self._attached(name, value, ctx)
        if "Integer" in types and _INT_RE.match(stripped):
            return int(stripped)
        if "Float" in types and _FLOAT_RE.match(stripped):
            return float(stripped)
        if "Boolean" in types and stripped.lower() in ("true", "false", "1", "0"):
            return stripped.lower() in ("true", "1")
        if "String" in types or "InputFile" in types:
            return value
        object_types = [t for t in types if t not in _PRIMITIVES]
        if object_types:
            try:
                decoded = json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {name} JSON object") from None
            return self._check_union(decoded, types, name, ctx)
        expected = " or ".join(types)
        raise ApiError(f'Bad Request: parameter "{name}" must be of type {expected}')

    def _attached(self, path: str, value: str, ctx: _Ctx) -> UploadedFile:
        part = value[len("attach://"):]
        upload = ctx.files.get(part)
        if upload is None:
            raise ApiError(f"Bad Request: file {value} not found in the request ({path})")
        ctx.used_files.add(part)
        return upload

    # ----------------------------------------------------------------- recursion
    def _check_union(
        self, value: Any, types: tuple[str, ...], path: str, ctx: _Ctx
    ) -> Any:
        if len(types) == 1:
            return self._check(value, types[0], path, ctx)
        # Prefer an exact primitive match.
        for t in types:
            if self._matches_primitive(value, t):
                return self._check(value, t, path, ctx)
        if all(t.startswith("Array of ") for t in types):
            # e.g. sendMediaGroup.media: each item may be any of the element types
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise ApiError(f'Bad Request: field "{path}" must be an Array') from None
            if not isinstance(value, list):
                raise ApiError(f'Bad Request: field "{path}" must be an Array')
            inner = tuple(t[len("Array of "):] for t in types)
            return [
                self._check_union(item, inner, f"{path}[{i}]", ctx) for i, item in enumerate(value)
            ]
        candidates = [self.spec.types[t] for t in types if t in self.spec.types]
        if isinstance(value, dict) and candidates:
            for spec in candidates:  # a matching discriminator ("type": "photo") wins
                disc = spec.discriminator()
                if disc and value.get(disc[0]) == disc[1]:
                    return self._check(value, spec.name, path, ctx)
            for spec in candidates:  # else the first type whose required fields are present
                disc = spec.discriminator()
                if disc and disc[0] in value:
                    continue
                if all(f.name in value for f in spec.fields.values() if f.required):
                    return self._check(value, spec.name, path, ctx)
            if path == "reply_markup":
                raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")
            raise ApiError(
                f'Bad Request: can\'t parse "{path}": object does not match any of '
                + ", ".join(spec.name for spec in candidates)
            )
        # fall back to lenient conversions (e.g. int for a String field)
        for t in types:
            sub = ctx.child()
            try:
                checked = self._check(value, t, path, sub)
            except ApiError:
                continue
            ctx.merge(sub)
            return checked
        raise ApiError(f'Bad Request: field "{path}" must be of type {" or ".join(types)}')

    @staticmethod
    def _matches_primitive(value: Any, type_expr: str) -> bool:
        if type_expr == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if type_expr == "Float":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if type_expr == "String":
            return isinstance(value, str)
        if type_expr in ("Boolean", "True"):
            return isinstance(value, bool)
        return False

    def _check(self, value: Any, type_expr: str, path: str, ctx: _Ctx) -> Any:
        if type_expr.startswith("Array of "):
            inner = type_expr[len("Array of "):]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise ApiError(f'Bad Request: field "{path}" must be an Array') from None
            if not isinstance(value, list):
                raise ApiError(f'Bad Request: field "{path}" must be an Array')
            return [self._check(item, inner, f"{path}[{i}]", ctx) for i, item in enumerate(value)]
        if type_expr == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _INT_RE.match(value.strip()):
                ctx.warnings.append(f"{path}: Integer sent as a string {value!r}")
                return int(value)
            if isinstance(value, float) and value.is_integer():
                ctx.warnings.append(f"{path}: Integer sent as a float {value!r}")
                return int(value)
            raise ApiError(f'Bad Request: field "{path}" must be of type Integer')
        if type_expr == "Float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            raise ApiError(f'Bad Request: field "{path}" must be of type Number')
        if type_expr == "String":
            if isinstance(value, str):
                if value.startswith("attach://") and value[len("attach://"):] in ctx.files:
                    return self._attached(path, value, ctx)  # InputMedia*.media and friends
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                ctx.warnings.append(f"{path}: String expected, got number {value!r}")
                return str(value)
            raise ApiError(f'Bad Request: field "{path}" must be of type String')
        if type_expr in ("Boolean", "True"):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                ctx.warnings.append(f"{path}: Boolean sent as a string {value!r}")
                return value.lower() == "true"
            raise ApiError(f'Bad Request: field "{path}" must be of type Boolean')
        if type_expr == "InputFile":
            if isinstance(value, UploadedFile):
                return value
            if isinstance(value, str) and value.startswith("attach://"):
                return self._attached(path, value, ctx)
            raise ApiError(f'Bad Request: field "{path}" must be a file')

        spec = self.spec.types.get(type_expr)
        if spec is None:
            return value  # unknown type name: accept as is
        if type_expr == "KeyboardButton" and isinstance(value, str):
            if not value:
                raise ApiError("Bad Request: can't parse keyboard button: text must be non-empty")
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {path} JSON object") from None
        if not isinstance(value, dict):
            raise ApiError(f'Bad Request: field "{path}" must be an Object ({type_expr})')
        if spec.subtypes:
            return self._check_subtypes(value, spec, path, ctx)
        if not spec.fields:
            return value  # e.g. CallbackGame: anything goes
        return self._check_object(value, spec, path, ctx)

    def _check_subtypes(self, value: dict[str, Any], spec: ObjectSpec, path: str, ctx: _Ctx
                        ) -> dict[str, Any]:
        members = [self.spec.types[s] for s in spec.subtypes if s in self.spec.types]
        for member in members:
            disc = member.discriminator()
            if disc and value.get(disc[0]) == disc[1]:
                return self._check_object(value, member, path, ctx)
        if any(m.discriminator() for m in members):
            allowed = sorted({d[1] for m in members if (d := m.discriminator())})
            raise ApiError(
                f'Bad Request: can\'t parse {spec.name} "{path}": unknown type, expected one of '
                + ", ".join(allowed)
            )
        for member in members:  # no discriminator: first that validates
            sub_ctx = ctx.child()
            try:
                checked = self._check_object(value, member, path, sub_ctx)
            except ApiError:
                continue
            ctx.merge(sub_ctx)
            return checked
        raise ApiError(f"Bad Request: can't parse {spec.name} \"{path}\"")

    def _check_object(self, value: dict[str, Any], spec: ObjectSpec, path: str, ctx: _Ctx
                      ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in value.items():
            field = spec.fields.get(key)
            if field is None:
                ctx.warnings.append(f"{path}: unknown field {key!r} for {spec.name}")
                continue
            if item is None:
                continue
            result[key] = self._check_union(item, field.types, f"{path}.{key}", ctx)
        for field in spec.fields.values():
            if field.required and field.name not in result:
                raise ApiError(
                    f"Bad Request: can't parse {_human(spec.name)}: "
                    f'Field "{field.name}" must be of type {" or ".join(field.types)}'
                )
        disc = spec.discriminator()
        if disc and disc[0] in result and result[disc[0]] != disc[1]:
            raise ApiError(
                f'Bad Request: can\'t parse {spec.name} "{path}": field "{disc[0]}" must be '
                f'"{disc[1]}"'
            )
        hook = _TYPE_HOOKS.get(spec.name)
        if hook is not None:
            hook(result, path, ctx)
        return result


# ------------------------------------------------------------------ special rules


def _check_inline_button(button: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if not button.get("text", "").strip():
        raise ApiError(
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in "
            "the inline keyboard (the button text is empty)"
        )
    actions = [k for k in button if k not in _BUTTON_PASSIVE_FIELDS]
    if not actions:
        raise ApiError(
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise ApiError(
            "Bad Request: can't parse inline keyboard button: exactly one of the optional "
            f"fields must be used, got {', '.join(sorted(actions))}"
        )
    if "callback_data" in button:
        size = len(button["callback_data"].encode("utf-8"))
        if not 1 <= size <= 64:
            raise ApiError("Bad Request: BUTTON_DATA_INVALID")
    if "url" in button and not _URL_RE.match(button["url"]):
        raise ApiError("Bad Request: BUTTON_URL_INVALID")
    if "style" in button and button["style"] not in _BUTTON_STYLES:
        raise ApiError(
            "Bad Request: can't parse inline keyboard button: "
            f'invalid style "{button["style"]}"'
        )


def _check_keyboard_button(button: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if not button.get("text"):
        raise ApiError("Bad Request: can't parse keyboard button: text must be non-empty")
    actions = [k for k in button if k not in _BUTTON_PASSIVE_FIELDS]
    if len(actions) > 1:
        raise ApiError(
            "Bad Request: can't parse keyboard button: at most one of the optional fields "
            f"may be used, got {', '.join(sorted(actions))}"
        )


def _check_inline_markup(markup: dict[str, Any], path: str, ctx: _Ctx) -> None:
    total = sum(len(row) for row in markup["inline_keyboard"])
    if total > 100 or any(len(row) > 8 for row in markup["inline_keyboard"]):
        raise ApiError("Bad Request: reply markup is too long")


def _check_reply_markup(markup: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if not markup["keyboard"] or not all(markup["keyboard"]):
        raise ApiError("Bad Request: keyboard must be non-empty")


def _check_bot_command(command: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if not _COMMAND_RE.match(command["command"]):
        raise ApiError("Bad Request: BOT_COMMAND_INVALID")
    if not 1 <= len(command["description"]) <= 256:
        raise ApiError("Bad Request: command description must be 1-256 characters")


_TYPE_HOOKS = {
    "InlineKeyboardButton": _check_inline_button,
    "KeyboardButton": _check_keyboard_button,
    "InlineKeyboardMarkup": _check_inline_markup,
    "ReplyKeyboardMarkup": _check_reply_markup,
    "BotCommand": _check_bot_command,
}
