"""Who may act: staff accounts (passwords, TOTP, lockout, roles) and API tokens.

Layer: ``retention.accounts`` — above ``engine``; imports ``audit``, ``keys``, ``db``,
``errors`` and ``settings``. Never imports Flask: the web sign-in pages and ``mugshot user`` /
``mugshot token`` drive these functions.
"""
