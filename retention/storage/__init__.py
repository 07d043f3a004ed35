"""Where sealed bytes live: the blob-store interface, its backends, and image validation.

Layer: ``retention.storage`` — bottom; imports only ``errors``, ``files`` and ``aws`` (boto3,
lazily, for S3).
``interface`` states the contract; ``local``, ``memory`` and ``s3`` implement it and import only
the interface; ``factory`` chooses one by setting. ``images`` validates and derives images
(Pillow) before anything is sealed.
"""
