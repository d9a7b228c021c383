"""Pydantic (v2) schemas for Khoj conversation data and the portal JSON API.

Part 1 mirrors the chat message models Khoj itself validates its
``Conversation.conversation_log`` JSON with (``khoj.database.models``:
``ChatMessageModel`` -- called ``ChatMessage`` in earlier releases -- and the
nested ``Context``, ``CodeContext*``, ``WebPage``/``OnlineContext``,
``Intent`` and ``TrainOfThought`` models).  Field names, spellings
(camelCase such as ``trainOfThought``/``onlineContext``/``turnId``, dashed
keys such as ``inferred-queries``), optionality and defaults follow Khoj, so a
conversation log read from a Khoj database validates unchanged and can be
written back in a shape Khoj reads.

Where this module deliberately differs from Khoj:

* ``by`` must be ``"you"`` or ``"khoj"``.  Khoj types it as ``str`` but only
  ever writes those two values (``message_to_log``).
* Unknown keys are kept (``extra="allow"``) on every Khoj-shaped model.  Real
  Khoj data carries more than the models declare: older releases stored
  ``trigger-emotion`` and ``uploadedImageData`` on messages; Serper search
  results keep ``position``, ``date``, ``sitelinks`` and others inside
  ``organic``/``answerBox``; the code sandbox may report extra result keys.
  Khoj's models silently ignore such keys; here they are preserved so an
  export/import round trip loses nothing.
* Khoj's ``Conversation.messages`` drops ``None`` items from
  ``inferred-queries`` before validating; :class:`Intent` does the same.
* ``Intent`` accepts both ``inferred-queries``/``memory-type`` (what
  ``message_to_log`` writes) and ``inferred_queries``/``memory_type`` (what
  newer Khoj writes, since it stores ``model_dump()`` without aliases), and
  always serialises the dashed spelling, which Khoj's ``Intent`` aliases read.
* ``context`` items may also be plain strings, and ``message`` may be a list
  of objects: both shapes were written by Khoj itself (earlier releases
  stored compiled references as plain strings, and Excalidraw diagrams as the
  message body until migration 0075 moved them to ``excalidrawDiagram``).
* ``Context.uri`` is left as stored.  Khoj fills it in while validating
  (deep link, else the file path as a ``file://`` URI); the same fallback is
  available read-only as :attr:`Context.resolved_uri`.
* ``created`` stays the string Khoj writes (``"%Y-%m-%d %H:%M:%S"``, local
  time of the Khoj server, no zone); it is not parsed.

Part 2 holds the portal's own export/import format and Part 3 the request and
response bodies shared by the JSON API.  Use :func:`validation_errors` to turn
a :class:`pydantic.ValidationError` into messages that can be shown to users.

Dumping: ``model_dump(mode="json")`` gives JSON-ready data with Khoj's
spellings and every field present (defaults filled in);
``to_storage()`` additionally leaves out fields the input did not have, which
reproduces a validated Khoj document key for key.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

__all__ = [
    "KhojModel",
    "Context",
    "CodeContextFile",
    "CodeContextResult",
    "CodeContextData",
    "WebPage",
    "AnswerBox",
    "PeopleAlsoAsk",
    "KnowledgeGraph",
    "OrganicContext",
    "OnlineContext",
    "Intent",
    "TrainOfThought",
    "ChatMessage",
    "ChatMessageModel",
    "ConversationLog",
    "ConversationExport",
    "ConversationsExport",
    "ApiError",
    "HealthResponse",
    "validation_errors",
]


# ---------------------------------------------------------------------------
# Part 1: Khoj conversation data
# ---------------------------------------------------------------------------


class KhojModel(BaseModel):
    """Base for models mirroring data that Khoj writes.

    ``extra="allow"``: keys Khoj's data carries beyond the declared fields are
    accepted and written back out (see the module docstring for examples).
    """

    model_config = ConfigDict(
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def to_storage(self) -> dict[str, Any]:
        """JSON-ready dict with Khoj's key spellings and only the keys that were set."""
        return self.model_dump(mode="json", exclude_unset=True)


# Tags of the unions below.  They show up in pydantic error locations;
# validation_errors() drops them so users see the path of their own data.
_TAG_OBJECT = "<object>"
_TAG_LIST = "<list>"
_TAG_STRING = "<string>"
_UNION_TAGS = frozenset({_TAG_OBJECT, _TAG_LIST, _TAG_STRING})


def _shape(value: Any) -> Optional[str]:
    """Which branch of a str/object/list union a value belongs to (None: none)."""
    if isinstance(value, str):
        return _TAG_STRING
    if isinstance(value, (dict, BaseModel)):
        return _TAG_OBJECT
    if isinstance(value, list):
        return _TAG_LIST
    return None


class Context(KhojModel):
    """A note/document reference Khoj used to answer (``ChatMessage.context``)."""

    compiled: str
    file: str
    uri: Optional[str] = None
    query: Optional[str] = None

    @property
    def resolved_uri(self) -> Optional[str]:
        """Khoj's link for this reference: the deep link, else the file as a URI."""
        if self.uri and self.uri.strip():
            return self.uri
        if self.file and (self.file.startswith("http") or self.file.startswith("file://")):
            return self.file
        if self.file:
            return f"file://{self.file}"
        return None


class CodeContextFile(KhojModel):
    """A file produced by a code run (text files hold text, others base64)."""

    filename: str
    b64_data: str


class CodeContextResult(KhojModel):
    success: bool
    output_files: list[CodeContextFile]
    std_out: Optional[str] = None
    std_err: str
    code_runtime: Optional[int] = None


class CodeContextData(KhojModel):
    """One entry of ``ChatMessage.codeContext`` (keyed by the query it answered)."""

    code: str
    results: Optional[CodeContextResult] = None


class WebPage(KhojModel):
    link: str
    query: Optional[str] = None
    snippet: str


class AnswerBox(KhojModel):
    link: Optional[str] = None
    snippet: Optional[str] = None
    title: str
    snippetHighlighted: Optional[list[str]] = None


class PeopleAlsoAsk(KhojModel):
    link: Optional[str] = None
    question: Optional[str] = None
    snippet: Optional[str] = None
    title: Optional[str] = None


class KnowledgeGraph(KhojModel):
    attributes: Optional[dict[str, str]] = None
    description: Optional[str] = None
    descriptionLink: Optional[str] = None
    descriptionSource: Optional[str] = None
    imageUrl: Optional[str] = None
    title: str
    type: Optional[str] = None


class OrganicContext(KhojModel):
    snippet: Optional[str] = None
    title: str
    link: str


# Khoj stores ``webpages`` either as one page or as a list of pages.
WebPages = Annotated[
    Union[Annotated[WebPage, Tag(_TAG_OBJECT)], Annotated[list[WebPage], Tag(_TAG_LIST)]],
    Discriminator(
        _shape,
        custom_error_type="webpages_type",
        custom_error_message="Input should be an object or a list of objects",
    ),
]


class OnlineContext(KhojModel):
    """One entry of ``ChatMessage.onlineContext`` (keyed by the search query or URL)."""

    webpages: Optional[WebPages] = None
    answerBox: Optional[AnswerBox] = None
    peopleAlsoAsk: Optional[list[PeopleAlsoAsk]] = None
    knowledgeGraph: Optional[KnowledgeGraph] = None
    organic: Optional[list[OrganicContext]] = None


class Intent(KhojModel):
    """What Khoj did for a turn, e.g. ``{"type": "remember", "inferred-queries": [...]}``.

    ``type`` values Khoj writes include ``remember`` (the default),
    ``text-to-image``, ``text-to-image2``, ``text-to-image-v3`` and
    ``excalidraw``; it is kept a free string like in Khoj.  Before Khoj's
    migration 0075, image answers held the image (base64 or URL) in
    ``message``; it is a string either way.
    """

    type: str
    query: Optional[str] = None
    memory_type: Optional[str] = Field(
        default=None,
        validation_alias=AliasChoices("memory-type", "memory_type"),
        serialization_alias="memory-type",
    )
    inferred_queries: Optional[list[str]] = Field(
        default=None,
        validation_alias=AliasChoices("inferred-queries", "inferred_queries"),
        serialization_alias="inferred-queries",
    )

    @field_validator("inferred_queries", mode="before")
    @classmethod
    def _drop_missing_queries(cls, value: Any) -> Any:
        # Khoj drops None items before validating (Conversation.messages).
        if isinstance(value, list):
            return [item for item in value if item is not None]
        return value


class TrainOfThought(KhojModel):
    """A reasoning/status step shown with a Khoj answer, e.g. ``{"type": "thought", "data": "..."}``."""

    type: str
    data: str


ContextItem = Annotated[
    Union[Annotated[Context, Tag(_TAG_OBJECT)], Annotated[str, Tag(_TAG_STRING)]],
    Discriminator(
        _shape,
        custom_error_type="context_type",
        custom_error_message="Input should be an object with 'compiled' and 'file' (or a string)",
    ),
]

MessageBody = Annotated[
    Union[Annotated[str, Tag(_TAG_STRING)], Annotated[list[dict[str, Any]], Tag(_TAG_LIST)]],
    Discriminator(
        lambda value: None if isinstance(value, (dict, BaseModel)) else _shape(value),
        custom_error_type="message_type",
        custom_error_message="Input should be a string",
    ),
]


class ChatMessage(KhojModel):
    """One entry of ``conversation_log["chat"]``, as Khoj stores it.

    A turn is a ``by="you"`` message followed by a ``by="khoj"`` message
    sharing one ``turnId``.  User messages carry ``created``, ``images``
    (attached image URLs) and ``queryFiles`` (attached files: ``name``,
    ``content``, ``file_type``, ``size``); Khoj's messages carry the
    references used (``context``, ``onlineContext``, ``codeContext``), the
    ``intent``, ``trainOfThought`` and generated ``images``/diagrams.  An
    interrupted answer is stored as a ``khoj`` message with an empty
    ``message``.
    """

    by: Literal["you", "khoj"]
    message: MessageBody
    trainOfThought: list[TrainOfThought] = Field(default_factory=list)
    context: list[ContextItem] = Field(default_factory=list)
    onlineContext: dict[str, OnlineContext] = Field(default_factory=dict)
    codeContext: dict[str, CodeContextData] = Field(default_factory=dict)
    researchContext: Optional[list[Any]] = None
    operatorContext: Optional[list[Any]] = None
    created: Optional[str] = None
    images: Optional[list[str]] = None
    queryFiles: Optional[list[dict[str, Any]]] = None
    excalidrawDiagram: Optional[list[dict[str, Any]]] = None
    mermaidjsDiagram: Optional[str] = None
    turnId: Optional[str] = None
    intent: Optional[Intent] = None
    automationId: Optional[str] = None


#: Khoj's current name for the same model.
ChatMessageModel = ChatMessage


class ConversationLog(KhojModel):
    """The JSON stored in a conversation's ``conversation_log`` column.

    Khoj creates conversations with ``conversation_log = {}`` and reads it with
    ``.get("chat", [])``, so ``chat`` defaults to an empty list.
    """

    chat: list[ChatMessage] = Field(default_factory=list)


# ---------------------------------------------------------------------------
# Part 2: portal export/import format
# ---------------------------------------------------------------------------
#
# An export file is one JSON object:
#
#     {"conversations": [
#         {"title": "Trip planning", "agent": "khoj", "created_at": "2025-01-31T09:15:00+00:00",
#          "chat": [<ChatMessage>, ...]},
#         ...
#     ]}
#
# A wrapping object (rather than a bare list) keeps room for future top-level
# fields and lets an import tell a portal export apart from other apps' files.
# These models belong to the portal, so unknown keys are refused
# (``extra="forbid"``); the messages inside keep Khoj's tolerance.


class PortalModel(BaseModel):
    """Base for the portal's own request/response and file formats."""

    model_config = ConfigDict(extra="forbid")


class ConversationExport(PortalModel):
    """One exported conversation."""

    title: Optional[str] = None
    agent: Optional[str] = Field(default=None, description="Slug of the conversation's agent")
    created_at: Optional[datetime] = None
    chat: list[ChatMessage]


class ConversationsExport(PortalModel):
    """A whole export file: ``{"conversations": [ConversationExport, ...]}``."""

    conversations: list[ConversationExport]


# ---------------------------------------------------------------------------
# Part 3: JSON API request/response bodies
# ---------------------------------------------------------------------------


class ApiError(PortalModel):
    """Body of every JSON API error response."""

    error: str


class HealthResponse(PortalModel):
    """Body of the health check, e.g. ``{"status": "ok", "database": "ok"}``."""

    status: str
    database: str


# ---------------------------------------------------------------------------
# Readable validation errors
# ---------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _format_loc(loc: tuple[Union[int, str], ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        elif _PLAIN_KEY.match(part):
            path += f".{part}" if path else part
        else:
            # Dict keys such as search queries: chat[1].onlineContext["weather in Paris"]
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path


def validation_errors(exc: ValidationError) -> list[str]:
    """One readable line per error: ``"chat[3].by: Input should be 'you' or 'khoj'"``.

    Paths use the keys of the submitted data (list indexes in brackets, odd
    keys quoted); errors about the document as a whole have no path.
    Duplicates are dropped, order is kept.
    """
    lines: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        path = _format_loc(tuple(error["loc"]))
        line = f"{path}: {error['msg']}" if path else error["msg"]
        if line not in lines:
            lines.append(line)
    return lines
