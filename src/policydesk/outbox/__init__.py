"""The outbox: messages written in the transaction of the change that caused them, delivered
afterwards by the worker (exactly one row per message, retried with back-off)."""
