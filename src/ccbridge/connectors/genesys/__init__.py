"""Genesys Cloud: the Notifications API (channels, subscriptions, WebSocket) read into ccbridge."""

from ccbridge.connectors.genesys.connector import GenesysConnector

__all__ = ["GenesysConnector"]
