"""The stand-ins verify signatures with the providers' own published examples."""

from __future__ import annotations

import hashlib

from tests.standins import aliyun, tencent


def test_aliyun_v3_signature_matches_the_published_example():
    # Aliyun "V3 request structure and signature": the fixed-parameter example.
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "2014-05-26",
    }
    params = [
        ("RegionId", "cn-shanghai"),
        ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
    ]
    canonical = aliyun.canonical_request(
        "POST", "/", params, headers, sorted(headers), headers["x-acs-content-sha256"]
    )
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert (
        aliyun.signature("YourAccessKeySecret", canonical)
        == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_aliyun_canonical_query_uses_rfc3986_encoding():
    assert aliyun.percent_encode('{"code":"1 2*~"}') == "%7B%22code%22%3A%221%202%2A~%22%7D"


def test_tencent_tc3_signature_matches_the_published_example():
    # Tencent Cloud "Signature v3": the DescribeInstances example of 2019-02-25.
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    canonical = tencent.canonical_request(
        "POST", "/", "", headers, ["content-type", "host"], payload
    )
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert (
        tencent.signature("Gu5t9xGARNpq86cd98joQYCN3*******", 1551113065, "cvm", canonical)
        == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )
