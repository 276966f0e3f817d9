"""Ports and adapters: one small interface per side effect, a real and a fake implementation.

Adapters do nothing on import; they open hardware explicitly and translate their
library's exceptions into :mod:`appliance.errors`.
"""
