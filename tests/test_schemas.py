"""Tests for portal.schemas (pure pydantic, no database or app needed)."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from portal.schemas import (
    ApiError,
    ChatMessage,
    Context,
    ConversationExport,
    ConversationLog,
    ConversationsExport,
    HealthResponse,
    Intent,
    WebPage,
    validation_errors,
)

TURN_ID = "5b0c7c1e-9a51-4b43-8f39-0d7d1a1c9e11"

USER_MESSAGE = {
    "by": "you",
    "message": "Plot last week's rainfall in Paris and compare it with my garden notes",
    "created": "2025-03-14 09:21:07",
    "images": ["https://assets.khoj.dev/u/123/rain.webp"],
    "turnId": TURN_ID,
    "queryFiles": [
        {"name": "garden.md", "content": "# Garden\nWatered tomatoes.", "file_type": "text/markdown", "size": 27}
    ],
}

KHOJ_MESSAGE = {
    "by": "khoj",
    "message": "Paris had 14 mm of rain last week; your notes say you watered the tomatoes twice.",
    "created": "2025-03-14 09:21:31",
    "turnId": TURN_ID,
    "trainOfThought": [
        {"type": "thought", "data": "Searching notes for garden watering"},
        {"type": "status", "data": "**Searching the web** for: Paris rainfall last week"},
    ],
    "context": [
        {
            "compiled": "# Garden\nWatered tomatoes on Monday and Thursday.",
            "file": "/home/me/notes/garden.md",
            "query": "garden watering",
            "uri": "file:///home/me/notes/garden.md#line=2",
        }
    ],
    "onlineContext": {
        "Paris rainfall last week": {
            "answerBox": {
                "title": "Paris weather history",
                "snippet": "14 mm total precipitation",
                "link": "https://weather.example/paris",
                "snippetHighlighted": ["14 mm"],
            },
            "organic": [
                {
                    "title": "Paris precipitation March 2025",
                    "link": "https://weather.example/paris/march",
                    "snippet": "Daily rainfall totals for Paris",
                    "position": 1,  # extra Serper key, kept
                },
                {"title": "Climate of Paris", "link": "https://en.wikipedia.org/wiki/Climate_of_Paris"},
            ],
            "peopleAlsoAsk": [
                {
                    "question": "Is Paris rainy in March?",
                    "title": "Paris in March",
                    "link": "https://travel.example/paris-march",
                    "snippet": "March is one of the drier months.",
                }
            ],
            "knowledgeGraph": {
                "title": "Paris",
                "type": "Capital of France",
                "description": "Paris is the capital of France.",
                "descriptionSource": "Wikipedia",
                "descriptionLink": "https://en.wikipedia.org/wiki/Paris",
                "imageUrl": "https://images.example/paris.jpg",
                "attributes": {"Population": "2.1 million"},
            },
            "webpages": [
                {
                    "link": "https://weather.example/paris/march",
                    "query": "Paris rainfall last week",
                    "snippet": "Rain fell on 4 of 7 days, 14 mm in total.",
                }
            ],
        }
    },
    "codeContext": {
        "plot Paris rainfall": {
            "code": "import matplotlib.pyplot as plt\nplt.bar(range(7), [0, 3, 5, 0, 4, 2, 0])\nplt.savefig('rain.png')",
            "results": {
                "success": True,
                "std_out": "",
                "std_err": "",
                "output_files": [{"filename": "rain.png", "b64_data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"}],
                "code_runtime": 1843,
            },
        }
    },
    "intent": {
        "type": "remember",
        "query": "Plot last week's rainfall in Paris and compare it with my garden notes",
        "memory-type": "notes",
        "inferred-queries": ["garden watering", "Paris rainfall last week"],
    },
    "images": [],
    "automationId": None,
    "trigger-emotion": "calm",  # written by older Khoj releases, not a declared field
}


def errors_of(model, data) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return validation_errors(caught.value)


# --- realistic Khoj data --------------------------------------------------------------


def test_realistic_khoj_message_validates():
    msg = ChatMessage.model_validate(copy.deepcopy(KHOJ_MESSAGE))

    assert msg.by == "khoj"
    assert msg.turnId == TURN_ID
    assert [step.type for step in msg.trainOfThought] == ["thought", "status"]
    assert isinstance(msg.context[0], Context)
    assert msg.context[0].query == "garden watering"
    online = msg.onlineContext["Paris rainfall last week"]
    assert online.answerBox.title == "Paris weather history"
    assert online.organic[1].snippet is None
    assert online.knowledgeGraph.attributes == {"Population": "2.1 million"}
    assert isinstance(online.webpages, list) and online.webpages[0].link.endswith("/march")
    result = msg.codeContext["plot Paris rainfall"].results
    assert result.success is True and result.code_runtime == 1843
    assert result.output_files[0].filename == "rain.png"
    assert msg.intent.memory_type == "notes"
    assert msg.intent.inferred_queries == ["garden watering", "Paris rainfall last week"]
    assert msg.model_extra == {"trigger-emotion": "calm"}


def test_realistic_khoj_message_round_trips_through_json_dump():
    msg = ChatMessage.model_validate(copy.deepcopy(KHOJ_MESSAGE))

    dumped = msg.model_dump(mode="json")
    json.dumps(dumped)  # JSON-ready
    assert dumped["intent"]["inferred-queries"] == ["garden watering", "Paris rainfall last week"]
    assert dumped["intent"]["memory-type"] == "notes"
    assert dumped["trigger-emotion"] == "calm"
    assert dumped["onlineContext"]["Paris rainfall last week"]["organic"][0]["position"] == 1
    assert ChatMessage.model_validate(dumped) == msg
    # Only the keys that were stored, spelled the way Khoj spells them.
    assert msg.to_storage() == KHOJ_MESSAGE


def test_user_message_defaults_follow_khoj():
    msg = ChatMessage.model_validate(copy.deepcopy(USER_MESSAGE))

    assert msg.trainOfThought == [] and msg.context == []
    assert msg.onlineContext == {} and msg.codeContext == {}
    assert msg.intent is None and msg.researchContext is None and msg.mermaidjsDiagram is None
    assert msg.queryFiles[0]["name"] == "garden.md"
    assert msg.to_storage() == USER_MESSAGE
    assert ChatMessage.model_validate(msg.model_dump(mode="json")) == msg


def test_minimal_message_needs_only_by_and_message():
    msg = ChatMessage.model_validate({"by": "khoj", "message": ""})  # interrupted answer
    assert msg.created is None and msg.turnId is None


def test_intent_accepts_both_spellings_and_drops_missing_queries():
    newer = Intent.model_validate({"type": "remember", "memory_type": "notes", "inferred_queries": ["a", None, "b"]})
    older = Intent.model_validate({"type": "remember", "memory-type": "notes", "inferred-queries": ["a", "b"]})

    assert newer == older
    assert newer.to_storage() == {"type": "remember", "memory-type": "notes", "inferred-queries": ["a", "b"]}
    assert Intent(type="remember", inferred_queries=["x"]).inferred_queries == ["x"]


def test_legacy_khoj_shapes_are_accepted():
    legacy = {
        "by": "khoj",
        # Excalidraw diagram stored as the message body (before Khoj migration 0075)
        "message": [{"type": "rectangle", "id": "design", "x": 0, "y": 0}],
        # compiled references stored as plain strings
        "context": ["# Garden\nWatered tomatoes."],
        # a single read webpage instead of a list
        "onlineContext": {"https://example.com": {"webpages": {"link": "https://example.com", "snippet": "Example"}}},
        "intent": {"type": "excalidraw", "inferred-queries": ["Draw the design process"]},
        "created": "2024-05-02 18:40:11",
    }
    user = {"by": "you", "message": "Draw it", "created": "2024-05-02 18:40:01", "uploadedImageData": None}

    msg = ChatMessage.model_validate(copy.deepcopy(legacy))
    assert msg.context == ["# Garden\nWatered tomatoes."]
    assert isinstance(msg.onlineContext["https://example.com"].webpages, WebPage)
    assert msg.to_storage() == legacy
    assert ChatMessage.model_validate(copy.deepcopy(user)).to_storage() == user


def test_context_resolved_uri_matches_khoj_fallback():
    assert Context(compiled="x", file="/notes/a.md").resolved_uri == "file:///notes/a.md"
    assert Context(compiled="x", file="https://example.com/a").resolved_uri == "https://example.com/a"
    assert Context(compiled="x", file="/notes/a.md", uri="obsidian://open?file=a").resolved_uri == "obsidian://open?file=a"
    assert Context(compiled="x", file="/notes/a.md").uri is None  # stored value untouched


def test_conversation_log_matches_khoj_storage():
    assert ConversationLog.model_validate({}).chat == []  # Khoj's default conversation_log
    log = ConversationLog.model_validate({"chat": [copy.deepcopy(USER_MESSAGE), copy.deepcopy(KHOJ_MESSAGE)]})
    assert [m.by for m in log.chat] == ["you", "khoj"]
    assert log.to_storage() == {"chat": [USER_MESSAGE, KHOJ_MESSAGE]}


# --- readable errors -------------------------------------------------------------------


def test_bad_by_is_reported_with_its_path():
    chat = [copy.deepcopy(USER_MESSAGE), copy.deepcopy(KHOJ_MESSAGE), copy.deepcopy(USER_MESSAGE)]
    chat.append({"by": "assistant", "message": "Hello"})

    assert errors_of(ConversationLog, {"chat": chat}) == ["chat[3].by: Input should be 'you' or 'khoj'"]


def test_non_list_chat_is_reported():
    assert errors_of(ConversationLog, {"chat": "hello"}) == ["chat: Input should be a valid list"]
    assert errors_of(ConversationExport, {"chat": {"by": "you", "message": "hi"}}) == [
        "chat: Input should be a valid list"
    ]


def test_missing_message_is_reported():
    chat = [copy.deepcopy(USER_MESSAGE), {"by": "khoj", "created": "2025-03-14 09:21:31"}]

    assert errors_of(ConversationLog, {"chat": chat}) == ["chat[1].message: Field required"]


@pytest.mark.parametrize("junk", [42, None, True, {"text": "hi"}])
def test_message_must_be_a_string(junk):
    assert errors_of(ChatMessage, {"by": "you", "message": junk}) == ["message: Input should be a string"]


def test_nested_errors_use_the_submitted_keys():
    bad = copy.deepcopy(KHOJ_MESSAGE)
    del bad["onlineContext"]["Paris rainfall last week"]["webpages"][0]["link"]
    bad["context"][0] = 7
    bad["intent"]["inferred-queries"] = "not a list"
    bad["codeContext"]["plot Paris rainfall"]["results"]["success"] = "maybe"

    assert errors_of(ConversationLog, {"chat": [bad]}) == [
        "chat[0].context[0]: Input should be an object with 'compiled' and 'file' (or a string)",
        'chat[0].onlineContext["Paris rainfall last week"].webpages[0].link: Field required',
        'chat[0].codeContext["plot Paris rainfall"].results.success: Input should be a valid boolean, '
        "unable to interpret input",
        "chat[0].intent.inferred-queries: Input should be a valid list",
    ]


def test_whole_document_errors_have_no_path():
    assert errors_of(ConversationsExport, []) == [
        "Input should be a valid dictionary or instance of ConversationsExport"
    ]


# --- export / import format ------------------------------------------------------------


def sample_export() -> dict:
    return {
        "conversations": [
            {
                "title": "Rain and the garden",
                "agent": "gardener-492013",
                "created_at": "2025-03-14T09:21:07+00:00",
                "chat": [
                    copy.deepcopy(USER_MESSAGE),
                    copy.deepcopy(KHOJ_MESSAGE),
                    {"by": "you", "message": "Thanks!", "created": "2025-03-14 09:22:40", "turnId": "t-2"},
                ],
            },
            {"title": None, "agent": None, "created_at": None, "chat": []},
        ]
    }


def test_full_export_with_three_messages_validates():
    export = ConversationsExport.model_validate(sample_export())

    first = export.conversations[0]
    assert len(first.chat) == 3
    assert first.agent == "gardener-492013"
    assert first.created_at == datetime(2025, 3, 14, 9, 21, 7, tzinfo=timezone.utc)
    assert first.chat[1].intent.inferred_queries == ["garden watering", "Paris rainfall last week"]
    assert export.conversations[1].chat == []

    dumped = export.model_dump(mode="json")
    json.dumps(dumped)
    assert dumped["conversations"][0]["created_at"] == "2025-03-14T09:21:07Z"
    assert ConversationsExport.model_validate(dumped) == export


def test_export_errors_point_into_the_file():
    data = sample_export()
    data["conversations"][0]["chat"][2]["by"] = "bot"
    data["conversations"][1]["slug"] = "unexpected"

    assert errors_of(ConversationsExport, data) == [
        "conversations[0].chat[2].by: Input should be 'you' or 'khoj'",
        "conversations[1].slug: Extra inputs are not permitted",
    ]
    assert errors_of(ConversationsExport, {"conversations": [{"title": "No chat"}]}) == [
        "conversations[0].chat: Field required"
    ]


# --- API bodies ------------------------------------------------------------------------


def test_api_bodies():
    assert ApiError(error="Conversation not found").model_dump() == {"error": "Conversation not found"}
    health = HealthResponse.model_validate({"status": "ok", "database": "ok"})
    assert health.model_dump(mode="json") == {"status": "ok", "database": "ok"}
    assert errors_of(ApiError, {}) == ["error: Field required"]
