"""The one C extension: the PPP data path's framing (src/openras/ppp/_hdlc.c).

Optional: without a compiler the package installs without it and frames in Python
(openras.ppp.hdlc_batch falls back to hdlc.Deframer's exact path).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[Extension("openras.ppp._hdlc", ["src/openras/ppp/_hdlc.c"], optional=True)],
)
