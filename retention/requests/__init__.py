"""Removal requests from the person in the photo: filing, sealed claims, and the clerks' workflow.

Layer: ``retention.requests`` — above ``engine`` (approval purges through it); imports
``engine``, ``audit``, ``storage``, ``keys`` and ``db``. No Flask: ``web`` drives it.
``filing`` holds what the requester does (file, reference, claims, evidence, candidates);
``workflow`` what staff do (search, match, ask, extend, deny) and the requester's answer;
``approval`` approving, with the second person's confirmation where destruction goes beyond
the rules.
"""
