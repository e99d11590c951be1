"""What is derived from message bytes (DESIGN §3): ``parse`` (the part tree),
``envelope``, ``bodystructure``, ``sections`` (BODY[section]), ``headers``,
``text`` (SEARCH BODY) and ``analysis`` (what APPEND caches)."""
