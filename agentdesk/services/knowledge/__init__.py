"""The knowledge base: safe rendering, full-text search, suggestions for a call, publishing.

Qt-free. Reads run against the store they are given (the desktop's cache, which holds the
whole knowledge base, or a central store); publishing goes through the local writer as a
``knowledge.*`` mutation, so the centre authorises it and every cache receives it.
"""
