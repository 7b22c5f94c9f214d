"""Use cases (services that own their transaction): intake, processing, confirmations, dispatch."""
