"""``python -m antiphon``: the same as the ``antiphon`` command."""

from antiphon._launch import main

main()
