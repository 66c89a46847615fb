"""ecredit: e-commerce credit supervision."""

__version__ = "0.1.0"
