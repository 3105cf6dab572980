"""`python -m bot.keys`: print the "## Redis keys" table of docs/DEVELOPING.md (generated from `REGISTRY`)."""

from bot.keys import markdown_table

if __name__ == "__main__":
    print(markdown_table())
