"""Shared code for the attention course: self-checks and helpers that later chapters reuse."""
