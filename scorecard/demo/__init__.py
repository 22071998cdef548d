"""The bundled demo: Rotherham's 2015 story as an invented, signed event history."""

from scorecard.demo.build import build_demo_home

__all__ = ["build_demo_home"]
