"""Print the project's dependencies one per line, so the image can install (and cache) them in a
layer of their own before the source is copied."""
import tomllib

with open("pyproject.toml", "rb") as handle:
    print("\n".join(tomllib.load(handle)["project"]["dependencies"]))
