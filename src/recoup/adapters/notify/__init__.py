"""Adapters that send outbound webhooks (``domain/notify.py`` ``WebhookSender``)."""
