"""The Bot API methods of the stand-in (``_api_<method>``) and what they share: formatting, markup, files, updates."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import posixpath
import time
from typing import Any
from urllib.parse import urlsplit
from .html_check import EntityParseError, parse_text, trim_entities_text, utf16_len
from .spec import ApiError, UploadedFile
from .records import (
    _error_body,
    CALLBACK_ANSWER_LIMIT,
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    FakeMessage,
    FileRecord,
    JSON,
    PHOTO_UPLOAD_LIMIT,
    TEXT_LIMIT,
    UPLOAD_LIMIT,
    _CHAT_ACTIONS,
    _Chat,
    _NOT_DEFAULT_UPDATES,
    _NOT_MODIFIED,
    _QUERY_INVALID,
    _image_size,
    _is_send,
)

class ApiMethods:
    """FakeTelegram's implementation of each Bot API method it serves."""

    def _format(
        self, params: JSON, text_key: str, mode_key: str, entities_key: str, *, caption: bool
    ) -> tuple[str | None, list[JSON]]:
        raw = params.get(text_key)
        if raw is None:
            return None, []
        mode = params.get(mode_key)
        if mode:
            try:
                text, entities = parse_text(raw, mode, strict_html=self.strict_html)
            except EntityParseError as exc:
                raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
            except ValueError:
                raise ApiError("Bad Request: unsupported parse_mode") from None
        else:
            text = raw
            total = utf16_len(text)
            entities = [
                dict(e) for e in params.get(entities_key) or []
                if e["offset"] >= 0 and e["length"] > 0 and e["offset"] + e["length"] <= total
            ]
        text, entities = trim_entities_text(text, entities)
        if caption:
            if len(text) > CAPTION_LIMIT:
                raise ApiError("Bad Request: message caption is too long")
            return (text or None), entities
        if not text:
            raise ApiError("Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError("Bad Request: message is too long")
        return text, entities

    def _markup(self, chat: _Chat, markup: JSON | None) -> JSON | None:
        """Apply reply_markup to the chat; return the inline keyboard to attach (if any)."""
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            return markup if markup["inline_keyboard"] else None
        if "keyboard" in markup:
            chat.reply_keyboard = markup
            chat.force_reply = False
        elif "remove_keyboard" in markup:
            chat.reply_keyboard = None
        elif "force_reply" in markup:
            chat.force_reply = True
        return None

    def _reply_to(self, chat: _Chat, params: JSON) -> JSON:
        reply = params.get("reply_parameters")
        if not reply:
            return {}
        target_chat = reply.get("chat_id", chat.id)
        target = chat.messages.get(reply["message_id"]) if target_chat == chat.id else None
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise ApiError("Bad Request: message to be replied not found")
        return {"reply_to_message": target.to_api(with_reply=False)}

    def _new_bot_message(self, chat: _Chat, method: str, params: JSON, **content: Any
                         ) -> FakeMessage:
        msg = FakeMessage(
            chat=chat.as_chat(), message_id=chat.take_message_id(), date=int(time.time()),
            sender=self.bot_user, from_bot=True, method=method, source=params, **content,
        )
        chat.messages[msg.message_id] = msg
        self._event(chat, "sent", msg)
        return msg

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None = None,
        mime_type: str | None = None, url: str | None = None,
    ) -> FileRecord:
        n = next(self._file_counter)
        prefixes = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI"}
        prefix = prefixes.get(kind, "CAACAgIAAxkBAAI")
        digest = hashlib.sha1(data or str(n).encode()).hexdigest()
        ext = posixpath.splitext(file_name or "")[1] or (".jpg" if kind == "photo" else "")
        folder = "photos" if kind == "photo" else "documents"
        record = FileRecord(
            file_id=f"{prefix}{n:06d}{digest[:20]}",
            file_unique_id=f"AgAD{digest[:12]}",
            kind=kind, data=data, file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name, mime_type=mime_type, url=url,
        )
        self._files[record.file_id] = record
        self._files_by_path[record.file_path] = record
        return record

    def _input_file(self, value: Any, kind: str, field_name: str) -> FileRecord:
        if isinstance(value, UploadedFile):
            if not value.data:
                raise ApiError(f"Bad Request: file must be non-empty ({field_name})")
            limit = PHOTO_UPLOAD_LIMIT if kind == "photo" else UPLOAD_LIMIT
            if len(value.data) > limit:
                raise ApiError("Request Entity Too Large", 413)
            file_name = value.filename
            guessed = mimetypes.guess_type(file_name or "")[0]
            content_type = (value.content_type or "").split(";")[0].strip() or None
            mime = guessed or content_type or "application/octet-stream"
            return self._store_file(value.data, kind, file_name, mime)
        text = str(value)
        if text.startswith(("http://", "https://")):
            name = posixpath.basename(urlsplit(text).path) or None
            return self._store_file(b"", kind, name, mimetypes.guess_type(name or "")[0], text)
        record = self._files.get(text)
        if record is None:
            raise ApiError("Bad Request: wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise ApiError(
                f"Bad Request: can't use file of type {record.kind.title()} as {kind.title()}"
            )
        return record

    def _editable(self, params: JSON) -> tuple[_Chat, FakeMessage]:
        if "inline_message_id" in params:
            raise ApiError("Bad Request: MESSAGE_ID_INVALID")
        if "chat_id" not in params:
            raise ApiError("Bad Request: chat_id is empty")
        if "message_id" not in params:
            raise ApiError("Bad Request: message identifier is not specified")
        chat = self._known_chat(params["chat_id"])
        msg = chat.messages.get(params["message_id"])
        if msg is None or msg.deleted:
            raise ApiError("Bad Request: message to edit not found")
        if not msg.from_bot:
            raise ApiError("Bad Request: message can't be edited")
        return chat, msg

    def _commands_key(self, scope: JSON | None, language_code: str | None) -> str:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (language_code or "")

    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook_url:
                raise ApiError(
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first", 409,
                )
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"])
            self._poll_generation += 1
            generation = self._poll_generation
            if offset is not None:
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                if generation != self._poll_generation:
                    raise ApiError(
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running", 409, violation=False,
                    )
                ready = [] if self._stopped else self._deliverable(limit)
                if ready or self._stopped:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if ready:
                self._last_delivered_id = max(self._last_delivered_id, ready[-1]["update_id"])
                self._last_activity = time.monotonic()
                self._cond.notify_all()
            return json.loads(json.dumps(ready))

    def _deliverable(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        kept = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            if allowed:
                ok = kind in allowed
            else:
                ok = kind not in _NOT_DEFAULT_UPDATES
            if ok:
                kept.append(update)
            else:  # Telegram drops updates of unwanted types
                self._last_delivered_id = max(self._last_delivered_id, update["update_id"])
        self._updates = kept
        return kept[:limit]

    def _api_getMe(self, params: JSON, chat: _Chat | None) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_logOut(self, params: JSON, chat: _Chat | None) -> bool:
        return True

    def _api_close(self, params: JSON, chat: _Chat | None) -> bool:
        return True

    def _api_setWebhook(self, params: JSON, chat: _Chat | None) -> bool:
        url = params["url"]
        if url and not url.startswith("https://"):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        if self._updates:
            self._last_delivered_id = max(self._last_delivered_id, self._updates[-1]["update_id"])
        self._updates = []
        self._cond.notify_all()

    def _api_deleteWebhook(self, params: JSON, chat: _Chat | None) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _api_getWebhookInfo(self, params: JSON, chat: _Chat | None) -> JSON:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _api_setMyCommands(self, params: JSON, chat: _Chat | None) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise ApiError("Bad Request: too many commands")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in commands]
        return True

    def _api_getMyCommands(self, params: JSON, chat: _Chat | None) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return [dict(c) for c in self._commands.get(key, [])]

    def _api_deleteMyCommands(self, params: JSON, chat: _Chat | None) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _api_setChatMenuButton(self, params: JSON, chat: _Chat | None) -> bool:
        button = params.get("menu_button", {"type": "default"})
        if chat is not None:
            chat.menu_button = button
        else:
            self._default_menu_button = button
        return True

    def _api_getChatMenuButton(self, params: JSON, chat: _Chat | None) -> JSON:
        if chat is not None and chat.menu_button is not None:
            return dict(chat.menu_button)
        return dict(self._default_menu_button)

    def _api_getChat(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        return {
            **chat.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    def _api_sendMessage(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        text, entities = self._format(params, "text", "parse_mode", "entities", caption=False)
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        msg = self._new_bot_message(
            chat, "sendMessage", params, text=text, entities=entities,
            raw_text=params["text"], parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _api_sendDocument(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        caption, caption_entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        record = self._input_file(params["document"], "document", "document")
        msg = self._new_bot_message(
            chat, "sendDocument", params, document=record.as_document(), content=record.data,
            caption=caption, caption_entities=caption_entities,
            raw_text=params.get("caption"), parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _api_sendPhoto(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        caption, caption_entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        record = self._input_file(params["photo"], "photo", "photo")
        if record.photo_sizes is None:
            record.photo_sizes = self._photo_sizes(record)
        msg = self._new_bot_message(
            chat, "sendPhoto", params, photo=[dict(s) for s in record.photo_sizes],
            content=record.data, caption=caption, caption_entities=caption_entities,
            raw_text=params.get("caption"), parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _photo_sizes(self, record: FileRecord) -> list[JSON]:
        if record.url is not None:
            dims: tuple[int, int] | None = (800, 600)
        else:
            dims = _image_size(record.data)
        if dims is None or dims[0] <= 0 or dims[1] <= 0:
            raise ApiError("Bad Request: IMAGE_PROCESS_FAILED")
        width, height = dims
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise ApiError("Bad Request: PHOTO_INVALID_DIMENSIONS")
        sizes: list[JSON] = []
        seen: set[tuple[int, int]] = set()
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height))
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            if (w, h) in seen:
                continue
            seen.add((w, h))
            size_rec = record if scale == 1.0 or side == 1280 else self._store_file(
                record.data, "photo", record.file_name, record.mime_type, record.url
            )
            sizes.append({
                "file_id": size_rec.file_id, "file_unique_id": size_rec.file_unique_id + str(side),
                "file_size": max(1, int(len(record.data) * scale * scale)), "width": w, "height": h,
            })
            if scale == 1.0:
                break
        return sizes

    def _api_sendMediaGroup(self, params: JSON, chat: _Chat | None) -> list[JSON]:
        assert chat is not None
        items = params["media"]
        if not 2 <= len(items) <= 10:
            raise ApiError("Bad Request: media group must contain 2-10 items")
        kinds = {item["type"] for item in items}
        for single in ("document", "audio"):
            if single in kinds and len(kinds) > 1:
                raise ApiError(f"Bad Request: {single} can't be mixed with other media types")
        extra = self._reply_to(chat, params)
        group_id = str(10_000_000_000_000_000 + next(self._file_counter))
        prepared = []
        for item in items:  # validate everything before sending anything
            caption, entities = self._format(
                item, "caption", "parse_mode", "caption_entities", caption=True
            )
            kind = item["type"]
            record = self._input_file(item["media"], "photo" if kind == "photo" else "document",
                                      "media")
            content: JSON = {"caption": caption, "caption_entities": entities,
                             "content": record.data, "raw_text": item.get("caption"),
                             "parse_mode": item.get("parse_mode")}
            if kind == "photo":
                if record.photo_sizes is None:
                    record.photo_sizes = self._photo_sizes(record)
                content["photo"] = [dict(s) for s in record.photo_sizes]
            elif kind == "document":
                content["document"] = record.as_document()
            else:  # audio / video / live_photo: minimal objects
                media: JSON = {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                               "duration": 0, "file_size": len(record.data)}
                if kind == "video":
                    media.update(width=0, height=0)
                content["extra"] = {kind: media}
            prepared.append(content)
        messages = []
        for content in prepared:
            content["extra"] = {**extra, **content.get("extra", {}), "media_group_id": group_id}
            messages.append(self._new_bot_message(chat, "sendMediaGroup", params, **content))
        return [m.to_api() for m in messages]

    def _api_sendChatAction(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        if params["action"] not in _CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        chat.actions.append(params["action"])
        return True

    def _api_generic(self, method: str, params: JSON, chat: _Chat | None) -> Any:
        spec = self._spec.methods[method]
        if chat is not None and _is_send(method) and "Message" in spec.returns:
            extra = self._reply_to(chat, params)
            msg = self._new_bot_message(
                chat, method, params, extra=extra,
                reply_markup=self._markup(chat, params.get("reply_markup")),
            )
            return msg.to_api()
        return True

    def _api_editMessageText(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        if msg.text is None:
            raise ApiError("Bad Request: there is no text in the message to edit")
        if "text" not in params:
            raise ApiError("Bad Request: message text is empty")
        text, entities = self._format(params, "text", "parse_mode", "entities", caption=False)
        markup = self._markup(chat, params.get("reply_markup"))
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, text=text, entities=entities, reply_markup=markup,
                         raw_text=params["text"], parse_mode=params.get("parse_mode"))
        return msg.to_api()

    def _api_editMessageCaption(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        if msg.document is None and msg.photo is None:
            raise ApiError("Bad Request: there is no caption in the message to edit")
        caption, entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        markup = self._markup(chat, params.get("reply_markup"))
        if (caption, entities, markup) == (msg.caption, msg.caption_entities, msg.reply_markup):
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, caption=caption, caption_entities=entities,
                         reply_markup=markup, raw_text=params.get("caption"),
                         parse_mode=params.get("parse_mode"))
        return msg.to_api()

    def _api_editMessageReplyMarkup(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        markup = self._markup(chat, params.get("reply_markup"))
        if markup == msg.reply_markup:
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, reply_markup=markup)
        return msg.to_api()

    def _apply_edit(self, chat: _Chat, msg: FakeMessage, **changes: Any) -> None:
        msg.edits.append(msg.snapshot())
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = int(time.time())
        self._event(chat, "edited", msg)

    def _api_deleteMessage(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        msg = chat.messages.get(params["message_id"])
        if msg is None or msg.deleted:
            raise ApiError("Bad Request: message to delete not found")
        msg.deleted = True
        self._event(chat, "deleted", msg)
        return True

    def _api_deleteMessages(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        for message_id in params["message_ids"]:
            msg = chat.messages.get(message_id)
            if msg is not None and not msg.deleted:
                msg.deleted = True
                self._event(chat, "deleted", msg)
        return True

    def _api_answerCallbackQuery(self, params: JSON, chat: _Chat | None) -> bool:
        cq = self._callbacks.get(params["callback_query_id"])
        if cq is None or cq.answered:
            raise ApiError(_QUERY_INVALID)
        if len(params.get("text", "")) > CALLBACK_ANSWER_LIMIT:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        cq.answered = True
        cq.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        self._cond.notify_all()
        return True

    def _api_getFile(self, params: JSON, chat: _Chat | None) -> JSON:
        record = self._files.get(params["file_id"])
        if record is None:
            raise ApiError("Bad Request: invalid file_id")
        if len(record.data) > DOWNLOAD_LIMIT:
            raise ApiError("Bad Request: file is too big")
        return record.as_file()

    # ------------------------------------------------------------------ downloads
    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        if token != self.token:
            return 401, "application/json", _error_body(401, "Unauthorized")
        with self._cond:
            record = self._files_by_path.get(file_path)
        if record is None:
            return 404, "application/json", _error_body(404, "Not Found")
        mime = record.mime_type or "application/octet-stream"
        return 200, mime, record.data

