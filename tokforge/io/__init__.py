"""Writing outputs safely: files written atomically (``atomic``) and output folders written as a
whole, locked, fingerprinted and swapped in (``folders``)."""
