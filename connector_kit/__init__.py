"""What the suite's taps, mapper, target and CLI share: errors, settings, limiter, HTTP, windows.

Importing the package loads nothing heavy; each module imports only what it needs (the CLI reads
`errors`, `settings`, `tls` and `visionone_regions` without loading the Singer SDK).
"""
