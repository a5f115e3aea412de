"""``python -m techcredit.features [--markdown]``: print the feature catalogue."""

from techcredit.features.catalogue import main

raise SystemExit(main())
