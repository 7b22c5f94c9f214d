"""The order parser: free text + catalog index + history + clock in, a `ParsedOrder` out. Pure, no I/O."""
