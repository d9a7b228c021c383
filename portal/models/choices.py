"""Every choice list of the schema, with Khoj's exact values (reference/khoj-behaviour.md)."""

SUBSCRIPTION_TYPES = ("trial", "standard")
PRICE_TIERS = ("free", "standard")
CHAT_MODEL_TYPES = ("openai", "offline", "anthropic", "google")

PRIVACY_LEVELS = ("public", "private", "protected")
INPUT_TOOLS = ("general", "online", "notes", "webpage", "code")
OUTPUT_MODES = ("image", "diagram")
STYLE_COLORS = (
    "blue", "green", "red", "yellow", "orange", "purple", "pink", "teal", "cyan", "lime", "indigo",
    "fuchsia", "rose", "sky", "amber", "emerald",
)
STYLE_ICONS = (
    "Lightbulb", "Health", "Robot", "Aperture", "GraduationCap", "Jeep", "Island", "MathOperations",
    "Asclepius", "Couch", "Code", "Atom", "ClockCounterClockwise", "PencilLine", "Chalkboard", "Cigarette",
    "CraneTower", "Heart", "Leaf", "NewspaperClipping", "OrangeSlice", "SmileyMelting", "YinYang",
    "SneakerMove", "Student", "Oven", "Gavel", "Broadcast",
)

# The seed lists Jina, Khoj today has Exa: both are supported.
WEB_SCRAPER_TYPES = ("Firecrawl", "Olostep", "Exa", "Jina", "Direct")
PROCESS_LOCK_NAMES = ("index_content", "scheduled_job", "schedule_leader", "apply_migrations")
SEARCH_ENDPOINT_TYPES = ("local", "openai", "huggingface")
SEARCH_MODEL_TYPES = ("text",)

FILE_TYPES = ("image", "pdf", "plaintext", "markdown", "org", "notion", "github", "conversation", "docx")
# Khoj's sources plus "web" for pages imported through the web scrapers.
FILE_SOURCES = ("computer", "notion", "github", "web")

SYNC_STATUSES = ("never", "queued", "running", "done", "failed")
