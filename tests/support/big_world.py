"""A province of many CĐCS built with bulk inserts (for tests and benchmarks of national-scale paths)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.clock import local_day_end, local_day_start
from bot.db import session_scope
from bot.models import ChatIdentity, Level, Person, Role, Round, Unit
from bot.services.periods import get_or_create_period


def build(engine: Engine, units: int, *, unions: int = 5, opens: date = date(2026, 12, 1),
          deadline: date = date(2026, 12, 18), audience: dict | None = None, chat_base: int = 7_000_000) -> dict:
    """A province P with `unions` upper unions and `units` CĐCS spread over them, each with a chair
    bound to a Telegram chat; one officer per union, one staff member; an open round "R1".
    Every third CĐCS is in the "enterprise" sector, the others "public"."""
    with session_scope(engine) as s:
        province = Unit(code="P", name="LĐLĐ tỉnh Lớn", level=Level.PROVINCE)
        s.add(province)
        s.flush()
        union_ids = []
        for i in range(unions):
            u = Unit(code=f"U{i}", name=f"LĐLĐ huyện {i}", level=Level.UPPER, parent_id=province.id)
            s.add(u)
            s.flush()
            union_ids.append(u.id)
        s.execute(insert(Unit), [
            dict(code=f"G{n:06d}", name=f"CĐCS số {n}", level=Level.GRASSROOTS, type_label="CĐCS",
                 parent_id=union_ids[n % unions], sector="enterprise" if n % 3 == 0 else "public", active=True)
            for n in range(units)])
        grassroots = s.execute(select(Unit.id).where(Unit.level == Level.GRASSROOTS).order_by(Unit.id)).scalars().all()
        s.execute(insert(Person), [dict(full_name=f"Chủ tịch {uid}", unit_id=uid, role=Role.CHAIR, active=True)
                                   for uid in grassroots])
        s.execute(insert(Person), [dict(full_name=f"Cán bộ {uid}", unit_id=uid, role=Role.OFFICER, active=True)
                                   for uid in union_ids]
                  + [dict(full_name="Chuyên viên tỉnh", unit_id=province.id, role=Role.STAFF, active=True)])
        people = s.execute(select(Person.id)).scalars().all()
        s.execute(insert(ChatIdentity), [dict(person_id=pid, channel="telegram", external_id=str(chat_base + pid),
                                              chat_id=str(chat_base + pid), reachable=True) for pid in people])
        period = get_or_create_period(s, "2026-Q4")
        s.add(Round(code="R1", title="Báo cáo quý IV", period_id=period.id, opens_at=local_day_start(opens),
                    deadline_at=local_day_end(deadline), audience=audience or {"levels": ["grassroots"]},
                    reminder_plan={}))
        return {"province": province.id, "unions": union_ids, "units": len(grassroots), "people": len(people)}
