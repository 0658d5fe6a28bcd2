"""Polling helper of the data-plane tests (``azlab.polling``, which the integration tests share)."""

from azlab.polling import wait_for

__all__ = ["wait_for"]
