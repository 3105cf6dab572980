"""Rasa input channels for chat platforms: `connectors.wechat.WeChatInput`, `connectors.telegram.TelegramInput`.

See docs/channels.md for configuration; `bot.outbound` sends to a user on whichever channel they use.
"""
