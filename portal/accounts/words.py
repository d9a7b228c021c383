"""Two small word lists for default token names ("Brave Falcon"), as Khoj names tokens."""
import secrets

ADJECTIVES = (
    "Amber", "Bold", "Brave", "Bright", "Calm", "Clever", "Cosmic", "Crimson", "Daring", "Eager", "Gentle",
    "Golden", "Grand", "Happy", "Humble", "Jolly", "Keen", "Kind", "Lively", "Lucky", "Mellow", "Mighty",
    "Nimble", "Noble", "Patient", "Quick", "Quiet", "Rapid", "Silver", "Steady", "Swift", "Witty",
)
ANIMALS = (
    "Badger", "Bear", "Beaver", "Bison", "Crane", "Dolphin", "Eagle", "Falcon", "Ferret", "Fox", "Gazelle",
    "Heron", "Ibis", "Jaguar", "Koala", "Lynx", "Marten", "Narwhal", "Otter", "Owl", "Panda", "Puffin",
    "Raven", "Salmon", "Seal", "Sparrow", "Swan", "Tiger", "Turtle", "Walrus", "Wolf", "Yak",
)


def random_name() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"
