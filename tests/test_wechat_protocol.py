"""WeChat protocol checks against the official vectors of docs/protocols.md §1.7 (pure, fast)."""

from __future__ import annotations

import pytest
from wechatpy import crypto as wx_crypto
from wechatpy.crypto import WeChatCrypto

from connectors._wechat_protocol import (
    ProtocolError,
    check_signature,
    check_timestamp,
    decrypt,
    dedupe_key,
    encrypt_reply,
    harden_xml,
    kind,
    parse,
    sign,
    split_text,
)


def envelope(encrypt: str, to: str = "gh_test") -> str:
    return f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


# V1: Tencent doc, token AAAAA
def test_v1_url_verification_signature():
    assert sign("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    check_signature("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492")


def test_v1_plain_post_signature():
    check_signature("AAAAA", "899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656")


# V2: wechatpy tests/test_utils.py
def test_v2_signature_pass_and_fail():
    check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
    with pytest.raises(ProtocolError) as err:
        check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test")
    assert err.value.status == 403
    assert sign("789", "456", "123") == "f7c3bc1d808e04732adf679965ccc34ca7ae3441"


V3_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
V3_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6y"
    "dJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/T"
    "ywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5"
    "t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
V3_PLAIN = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<FromUserName><![CDATA[messense]]></FromUserName>\n"
    "<CreateTime>1411525903</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<MsgId>4363689963896700987</MsgId>\n<AgentID>1</AgentID>\n</xml>"
)


def test_v3b_decrypt_exact():
    c = WeChatCrypto("123456", V3_KEY, "wx49f0ab532d5d035a")
    plain = decrypt(c, envelope(V3_ENCRYPT), "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294")
    assert plain == V3_PLAIN
    msg = parse(plain)
    assert (msg.type, msg.source, msg.content, dedupe_key(msg)) == ("text", "messense", "test", "msg:4363689963896700987")


def test_v3b_wrong_msg_signature_is_403():
    c = WeChatCrypto("123456", V3_KEY, "wx49f0ab532d5d035a")
    with pytest.raises(ProtocolError) as err:
        decrypt(c, envelope(V3_ENCRYPT), "74d92dfeb87ba7c714f89d98870ae5eb62dff26e", "1411525903", "461056294")
    assert err.value.status == 403


def test_v3b_wrong_appid_is_403():
    c = WeChatCrypto("123456", V3_KEY, "wx0000000000000000")
    with pytest.raises(ProtocolError) as err:
        decrypt(c, envelope(V3_ENCRYPT), "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294")
    assert err.value.status == 403


class _FixedRandom(wx_crypto.PrpCrypto):
    def get_random_string(self):  # the vector's fixed 16-byte prefix
        return "1234567890123456"


def test_v3c_encrypt_exact(monkeypatch):
    monkeypatch.setattr(wx_crypto, "PrpCrypto", _FixedRandom)
    reply = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
             "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
             "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>")
    c = WeChatCrypto("123456", V3_KEY, "wx49f0ab532d5d035a")
    out = encrypt_reply(c, reply, "461056294", "1411525903")
    assert ("<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNc"
            "BqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCU"
            "ld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNO"
            "uiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>") in out
    assert "<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>" in out


def test_v4_tencent_sample_encrypt(monkeypatch):
    class Fixed(wx_crypto.PrpCrypto):
        def get_random_string(self):
            return "aaaabbbbccccdddd"

    monkeypatch.setattr(wx_crypto, "PrpCrypto", Fixed)
    c = WeChatCrypto("pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6")
    out = encrypt_reply(c, "我是中文abcd123", "xxxxxx", "1409304348")
    assert "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==" in out


V5_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXp"
    "bUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlp"
    "Kn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD"
    "1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)


def test_v5_tencent_sample_decrypt_exact():
    c = WeChatCrypto("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    plain = decrypt(c, envelope(V5_ENCRYPT), "5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132")
    assert plain == (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
        "</FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>")


V8_ENCRYPT = (
    "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKY"
    "pJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yl"
    "tw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCx"
    "gfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6k"
    "IaR9P4xQrWXbsTFHTYe0Mg=="
)


def test_v8_tencent_safe_mode_event_decrypt_and_reencrypt(monkeypatch):
    c = WeChatCrypto("AAAAA", "A" * 43, "wx134c8103faa5a59e")
    plain = decrypt(c, envelope(V8_ENCRYPT), "6c12a4205838198b8fa631b3220723bb07f1015c", "1715943329", "1590219412")
    assert len(plain.encode()) == 292 and "<debug_str><![CDATA[hello world]]></debug_str>" in plain
    msg = parse(plain)
    assert kind(msg) == ("event", "debug_demo")
    assert dedupe_key(msg) == "evt:o9AgO5Kd5ggOC-bXrbNODIiE3bGY:1715943329:debug_demo:"

    class Fixed(wx_crypto.PrpCrypto):
        def get_random_string(self):
            return "999951349e8ee746"

    monkeypatch.setattr(wx_crypto, "PrpCrypto", Fixed)
    out = encrypt_reply(c, "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>", "415670741", "1713424427")
    assert ("hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6W"
            "ELwqrGd7jMnV0zv3Zc9Nq7") in out
    assert "03e0812039325c2712ef5f0f980fd14c70d6e307" in out


def test_timestamp_window():
    assert check_timestamp("1000", now=1000 + 299) == 1000
    for bad in ("1000", None, "x"):
        with pytest.raises(ProtocolError):
            check_timestamp(bad, now=1000 + 301)


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml>&lol2;</xml>',
    b'<!doctype xml SYSTEM "file:///etc/passwd"><xml/>',
    b"<xml><!ENTITY x 'y'></xml>",
])
def test_dtd_and_entities_are_refused(body):
    with pytest.raises(ProtocolError) as err:
        harden_xml(body)
    assert err.value.status == 400


def test_size_cap():
    with pytest.raises(ProtocolError) as err:
        harden_xml(b"<xml>" + b"a" * (2 * 1024 * 1024) + b"</xml>")
    assert err.value.status == 413


@pytest.mark.parametrize("encrypt", ["not base64!!", "AAAA", "QUFBQUFBQUFBQUFBQUFBQQ=="])
def test_malformed_ciphertext_is_4xx_not_500(encrypt):
    c = WeChatCrypto("tok", "A" * 43, "wx1")
    sig = sign("tok", "1", "2", encrypt)
    with pytest.raises(ProtocolError) as err:
        decrypt(c, envelope(encrypt), sig, "1", "2")
    assert 400 <= err.value.status < 500


def test_split_keeps_parts_under_limit_and_loses_nothing():
    text = ("小米手机14的电池是4610毫安时，正常使用一整天没问题。" * 60) + "\n\n" + ("Fast charging takes 38 minutes. " * 80)
    parts = split_text(text, 2000)
    assert len(parts) > 2 and all(len(p.encode()) <= 2000 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("module", ["connectors.wechat", "connectors.telegram", "connectors._wechat_protocol",
                                    "connectors._wechat_api", "connectors._wechat_send", "connectors._telegram_send",
                                    "connectors._text", "bot.outbound"])
def test_public_surface_is_complete(module):
    import importlib

    mod = importlib.import_module(module)
    assert all(hasattr(mod, name) for name in mod.__all__), [n for n in mod.__all__ if not hasattr(mod, n)]
