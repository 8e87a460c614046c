"""Ops for the network exercises of the seeds (attention, expert routing, retrieval)."""

from __future__ import annotations
