"""Notices: /thongbao composes and sends one, /thongbao_ds follows them, /danhan acknowledges.

`compose` (compose → audience → options → preview → send), `follow` (list, tracking,
resend, Excel, acknowledgement) and `flow` (the events, dispatched by tables) share
`common` (the flow name, its steps, its draft). Button data is ``s<v>:notice:<action>[:<arg>]``.
"""

from handlers.notices.common import FLOW, NoticeDraft, NoticeStep
from handlers.notices.compose import cmd_compose
from handlers.notices.flow import on_button, on_file, on_text, resume
from handlers.notices.follow import cmd_ack, cmd_list

__all__ = ["FLOW", "NoticeDraft", "NoticeStep", "cmd_ack", "cmd_compose", "cmd_list", "on_button", "on_file",
           "on_text", "resume"]
