"""Feeds: payload models, the feed registry, decoding, ingest, MQTT clients and the simulator.

Imports geo/, store/ and settings; never dashboard/, layers/ or topics/.
"""

from feeds.builtin import BUILTIN_FEEDS, register_builtin_feeds
from feeds.decode import Accepted, Decoder, Rejected
from feeds.registry import Context, Feed, FeedRegistry

__all__ = ["BUILTIN_FEEDS", "Accepted", "Context", "Decoder", "Feed", "FeedRegistry", "Rejected",
           "register_builtin_feeds"]
