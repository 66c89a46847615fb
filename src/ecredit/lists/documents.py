"""The documents of the procedure (告知书, 决定书, 异议答复, 移出决定书, 信用修复决定书): zh-CN HTML,
rendered once and kept byte for byte with their SHA-256 digest and a document number."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import Session

from ecredit.kit.ids import new_id
from ecredit.lists.models import DocumentKind, ListDocument

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

TITLES = {
    DocumentKind.notice: "列入{list}告知书",
    DocumentKind.decision: "列入{list}决定书",
    DocumentKind.objection_answer: "异议申请答复书",
    DocumentKind.removal: "移出{list}决定书",
    DocumentKind.repair_decision: "信用修复决定书",
}
PREFIXES = {
    DocumentKind.notice: "信列告",
    DocumentKind.decision: "信列决",
    DocumentKind.objection_answer: "信异答",
    DocumentKind.removal: "信移决",
    DocumentKind.repair_decision: "信修决",
}

_TEMPLATE = _env.from_string(
    """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<p class="number">{{ number }}</p>
<p>{{ subject_name }}{% if uscc %}（统一社会信用代码：{{ uscc }}）{% endif %}：</p>
{% for heading, text in sections %}
<h2>{{ heading }}</h2>
{% if text is string %}<p>{{ text }}</p>{% else %}<ul>
{% for item in text %}<li>{{ item }}</li>{% endfor %}
</ul>{% endif %}
{% endfor %}
<p class="issuer">{{ issuer }}</p>
<p class="date">{{ day.year }}年{{ day.month }}月{{ day.day }}日</p>
</body>
</html>
"""
)


def number_of(kind: DocumentKind, day: dt.date) -> str:
    """A unique document number (文号): prefix, year and a unique serial."""
    return f"{PREFIXES[kind]}〔{day.year}〕{new_id()[-10:]}号"


def issue(
    session: Session,
    *,
    entry_id: str,
    kind: DocumentKind,
    list_name: str,
    subject_name: str,
    uscc: str | None,
    issuer: str,
    day: dt.date,
    sections: Sequence[tuple[str, str | Sequence[str]]],
    created_by: str,
) -> ListDocument:
    """Render and store one document (flushed)."""
    number = number_of(kind, day)
    title = TITLES[kind].format(list=list_name)
    html = _TEMPLATE.render(
        title=title,
        number=number,
        subject_name=subject_name,
        uscc=uscc,
        sections=sections,
        issuer=issuer,
        day=day,
    )
    content = html.encode("utf-8")
    document = ListDocument(
        entry_id=entry_id,
        kind=kind.value,
        number=number,
        media_type="text/html; charset=utf-8",
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        created_by=created_by,
    )
    session.add(document)
    session.flush()
    return document


def summary(document: ListDocument) -> Mapping[str, Any]:
    """What the history and the audit name of a document."""
    return {"document_id": document.id, "number": document.number, "sha256": document.sha256}
