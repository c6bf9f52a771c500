"""Serving models over HTTP: `server` (one of tsqr's reasoners behind an OpenAI-compatible chat-completions API,
`python -m tsqr serve`) and `simulate` (a loopback stand-in for a continuous-batching engine, for tests and bench).
"""
