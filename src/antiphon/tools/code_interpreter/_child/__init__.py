"""The child side of the code interpreter: the code that runs inside each sandboxed worker.

Boundary: this package imports the standard library only and never ``antiphon``, because the
worker runs under ``python -I -S`` with just this package's parent directory on ``sys.path``
(no site-packages, so no third-party code and a fast start). The parent imports
:mod:`.framing` from here so both ends share one wire format.
"""
