"""openras: Remote Access Connection Manager and Multiple Provider Router for Linux."""

__version__ = "0.1.0"
