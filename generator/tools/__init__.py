"""External tools: discovery and runners for promtool, amtool and prometheus."""
