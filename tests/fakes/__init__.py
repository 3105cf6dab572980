"""Local fake chat-platform servers (127.0.0.1 only) speaking the real HTTP APIs.

- `FakeWeChat`: WeChat Official Account API (`/cgi-bin/token`, `stable_token`, `message/custom/send`,
  `message/custom/typing`, `media/get` for pictures users sent) with switches for 40001/42001/45015/45009.
- `FakeTelegram`: Telegram Bot API (`/bot<TOKEN>/getMe`, `sendMessage`, `sendChatAction`,
  `answerCallbackQuery`, `getUpdates`, `setWebhook`, `deleteWebhook`, `getFile` and the file server
  `/file/bot<TOKEN>/<path>`) enforcing 1 msg/s per chat and
  30 msg/s overall with real 429 + `retry_after` answers.

Both run in a background thread, record every call in `.calls`, and fail loudly (404 + recorded) on
an endpoint they do not implement.
"""

from tests.fakes.telegram import FakeTelegram
from tests.fakes.wechat import FakeWeChat

__all__ = ["FakeTelegram", "FakeWeChat"]
