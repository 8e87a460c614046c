"""Ops for the lecture-topic exercises (dropout, batch norm, LSTM, sampling, masking)."""

from __future__ import annotations
