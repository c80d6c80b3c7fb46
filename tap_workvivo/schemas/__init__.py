"""JSON Schema files of tap-workvivo's streams (loaded with the SDK's SchemaDirectory)."""
