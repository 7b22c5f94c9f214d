"""chat2order: free-text supplier orders to exact, confirmed, delivered order sheets."""
