"""Fault injection for the exactly-once promise, on the embedded stand-in.

:mod:`reliability.faults` breaks a load at every step of the per-target
protocol (through a proxy around the driver connection and botocore's event
hooks on the S3 clients), :mod:`reliability.schedules` draws seeded schedules
of concurrent loaders, replays their events the way SQS would until every
object is acknowledged, and checks the ledger afterwards and each table
against :mod:`reliability.oracle`, the contract of its load mode.
``make reliability`` runs the full set (``python -m reliability``); the
normal test run includes a fast subset (``test_reliability.py``).
"""
