"""The hot path done by wechatpy (the most used implementation), on the same input as
shared/benches/hot_path.rs: verify + decrypt + parse of a text-message push, and render + encrypt +
sign of the text reply. Prints one JSON line: nanoseconds per operation (best of several repeats).
Run by scripts/bench.sh, which compares it with the Rust figures from the same run.
"""

import json
import sys
import timeit

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto

TOKEN = "pamtest"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxb11529c136998cb6"
TIMESTAMP = "1715943329"
NONCE = "1590219412"
# The same follower message as the Rust benchmark.
TEXT = (
    "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n"
    "<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n"
    "<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[请问活动几点开始？]]></Content>\n<MsgId>24589245892458924589</MsgId>\n</xml>"
)


def main() -> None:
    crypto = WeChatCrypto(TOKEN, KEY, APPID)
    # wechatpy's own encrypt gives the push body; re-shaped like WeChat's envelope (~550 bytes).
    sealed = crypto.encrypt_message(TEXT, NONCE, TIMESTAMP)
    encrypt = sealed.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]></MsgSignature>")[0]
    body = (
        "<xml>\n    <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n"
        f"    <Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>"
    )

    def push():
        return parse_message(crypto.decrypt_message(body, signature, TIMESTAMP, NONCE))

    incoming = push()
    assert incoming.content == "请问活动几点开始？", incoming

    def reply():
        return crypto.encrypt_message(create_reply("收到，活动十点开始。", incoming).render(), NONCE, TIMESTAMP)

    results = {"body_bytes": len(body.encode())}
    for name, fn in (("push_ns", push), ("reply_ns", reply)):
        timer = timeit.Timer(fn)
        number, _ = timer.autorange()
        best = min(timer.repeat(repeat=7, number=number)) / number
        results[name] = best * 1e9
    results["python"] = sys.version.split()[0]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
