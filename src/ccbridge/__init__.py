"""ccbridge: a self-hosted, durable event bridge for contact-center platforms.

It serves the contact-center "EventBridge" API (OAuth2, subscriptions, idempotent event
ingestion, signed delivery) in both the NICE CXone and the Genesys Cloud dialect.
"""

__version__ = "0.1.0"
