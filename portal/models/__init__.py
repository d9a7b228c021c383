"""All SQLAlchemy models, one module per area. Importing this package registers every table."""
from .agents import Agent, Conversation
from .ai import (
    AiModelApi,
    ChatModel,
    SearchModelConfig,
    ServerChatSettings,
    UserConversationConfig,
    UserVoiceModelConfig,
    VoiceModelOption,
)
from .content import EMBEDDING_DIMENSIONS, Entry, FileObject
from .integrations import GithubConfig, GithubRepoConfig, NotionConfig, WebScraper
from .ops import AuditLog, ProcessLock, RateLimitRecord
from .subscriptions import ProcessedStripeEvent, Subscription
from .users import GoogleUser, KhojApiUser, KhojUser

__all__ = [
    "Agent", "AiModelApi", "AuditLog", "ChatModel", "Conversation", "EMBEDDING_DIMENSIONS", "Entry",
    "FileObject", "GithubConfig", "GithubRepoConfig", "GoogleUser", "KhojApiUser", "KhojUser",
    "NotionConfig", "ProcessLock", "ProcessedStripeEvent", "RateLimitRecord", "SearchModelConfig", "ServerChatSettings",
    "Subscription", "UserConversationConfig", "UserVoiceModelConfig", "VoiceModelOption", "WebScraper",
]
