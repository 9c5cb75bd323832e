"""Test and demo helpers shipped with ccbridge: a recording webhook receiver with settable behaviour."""

from ccbridge.testing.receiver import Behaviour, ReceivedRequest, WebhookReceiver

__all__ = ["Behaviour", "ReceivedRequest", "WebhookReceiver"]
