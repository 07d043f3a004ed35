"""Keys and envelope crypto: the keyring, the KMS provider, sealing, blind indexes.

Layer: ``retention.keys`` — bottom; imports only ``settings``, ``errors``, ``files``, ``aws``
(boto3, lazily, for KMS) and ``cryptography``. Pure key material and crypto over bytes: it knows no
records, sessions or audit entries. Rotating what these keys wrap is a job
(``retention.jobs.rotation``).
"""
